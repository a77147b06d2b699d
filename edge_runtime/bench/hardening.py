"""The daemon under hostile or heavy clients (issue 13's hardening figures), each against
a fresh real daemon on loopback:

- peak RSS of one 40 MP upload, per image format and output format, and of four at once;
- slow-body clients (1 byte/s) beside an honest client;
- progressive-JPEG scan bombs beside an honest client;
- connections that never send a byte, under the soft file-descriptor limit;
- SIGTERM while clients keep uploading: time to exit and what each client got.

    python -m edge_runtime.bench.hardening --model M --frame F --out DIR
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import shutil
import signal
import socket
import statistics
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from edge_runtime.bench.daemon import peak_rss_reset, rss_mb, start_daemon
from edge_runtime.pipeline import FORMATS

# 7296 x 5472: the largest 4:3 image under the default 40 MP limit.
BIG_SIZE = (7296, 5472)
OUTPUTS = FORMATS


def big_uploads(frame: Path, size: tuple[int, int] = BIG_SIZE) -> dict[str, tuple[bytes, str]]:
    """A real frame tiled to ``size`` in each accepted format: name -> (bytes, type)."""
    with Image.open(frame) as im:
        tile = np.asarray(im.convert("RGB"))
    w, h = size
    reps = (h // tile.shape[0] + 1, w // tile.shape[1] + 1, 1)
    big = Image.fromarray(np.tile(tile, reps)[:h, :w])
    grey = np.asarray(big.convert("L"))

    def enc(im: Image.Image, fmt: str, **kw: Any) -> bytes:
        buf = io.BytesIO()
        im.save(buf, fmt, **kw)
        return buf.getvalue()

    return {
        "JPEG": (enc(big, "JPEG", quality=90), "image/jpeg"),
        "JPEG progressive": (enc(big, "JPEG", quality=90, progressive=True), "image/jpeg"),
        "PNG RGB": (enc(big, "PNG", compress_level=1), "image/png"),
        "PNG RGBA": (enc(big.convert("RGBA"), "PNG", compress_level=1), "image/png"),
        "PNG 16-bit grey": (enc(Image.fromarray(grey.astype(np.uint16) * 257), "PNG"), "image/png"),
        "TIFF float32": (
            enc(Image.fromarray(grey.astype(np.float32)), "TIFF", compression="tiff_deflate"),
            "image/tiff",
        ),
        "WEBP": (enc(big, "WEBP", quality=80), "image/webp"),
    }


def _post(url: str, body: bytes, ctype: str, fmt: str = "mask", timeout: float = 120) -> int:
    try:
        r = httpx.post(
            f"{url}/v1/segment?format={fmt}",
            content=body,
            headers={"Content-Type": ctype},
            timeout=timeout,
        )
        return r.status_code
    except httpx.HTTPError:
        return 0  # no HTTP answer at all


def peak_rss(model: str, uploads: dict[str, tuple[bytes, str]], logs: Path) -> dict[str, Any]:
    """Each (format, output) in a fresh daemon: idle, peak during, and 1 s after."""
    rows = []
    for name, (body, ctype) in uploads.items():
        for out in OUTPUTS:
            d = start_daemon(logs, "--model", model)
            try:
                d.wait("/readyz")
                idle = rss_mb(d.proc.pid)[1]
                peak_rss_reset(d.proc.pid)
                status = _post(d.url, body, ctype, out)
                peak = rss_mb(d.proc.pid)[0]
                time.sleep(1.0)  # what is left once the request's memory is freed
                after = rss_mb(d.proc.pid)[1]
            finally:
                d.stop()
            rows.append(
                {
                    "format": name,
                    "bytes": len(body),
                    "output": out,
                    "status": status,
                    "idle_mb": idle,
                    "peak_mb": peak,
                    "after_mb": after,
                }
            )
    # Four clients at once, each a 40 MP PNG overlay (the worst single case's format).
    body, ctype = uploads["PNG RGB"]
    d = start_daemon(logs, "--model", model)
    try:
        d.wait("/readyz")
        peak_rss_reset(d.proc.pid)
        statuses = _concurrently(4, lambda: _post(d.url, body, ctype, "overlay"))
        peak = rss_mb(d.proc.pid)[0]
    finally:
        d.stop()
    return {"uploads": rows, "four_clients": {"statuses": statuses, "peak_mb": peak}}


def _concurrently(n: int, call: Any) -> dict[str, int]:
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(call())) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return dict(Counter(str(s) for s in results))


def _honest(url: str, body: bytes, n: int) -> dict[str, Any]:
    statuses, ms = Counter[str](), []
    for _ in range(n):
        t0 = time.perf_counter()
        statuses[str(_post(url, body, "image/jpeg", "json", timeout=60))] += 1
        ms.append((time.perf_counter() - t0) * 1e3)
    return {"statuses": dict(statuses), "p50_ms": statistics.median(ms), "max_ms": max(ms)}


def _frame_jpeg(frame: Path) -> bytes:
    buf = io.BytesIO()
    with Image.open(frame) as im:
        im.convert("RGB").resize((640, 480)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def slow_bodies(model: str, frame: Path, logs: Path, clients: int = 10) -> dict[str, Any]:
    """``clients`` connections each promising 100 kB and sending 1 byte a second until
    the daemon answers, while an honest client uploads 20 frames."""
    d = start_daemon(logs, "--model", model)
    port = int(d.url.rsplit(":", 1)[1])
    replies: list[str] = []

    def slow() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(
                b"POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
                b"Content-Length: 100000\r\n\r\n"
            )
            s.settimeout(1.0)
            deadline = time.monotonic() + 60
            try:
                while time.monotonic() < deadline:
                    s.sendall(b"\xff")
                    with contextlib.suppress(TimeoutError):
                        data = s.recv(200)
                        replies.append(data.split(b"\r\n", 1)[0].decode(errors="replace"))
                        return
                replies.append("no answer within 60 s")
            except OSError:
                replies.append("closed without an answer")

    try:
        d.wait("/readyz")
        t0 = time.monotonic()
        threads = [threading.Thread(target=slow) for _ in range(clients)]
        for t in threads:
            t.start()
        honest = _honest(d.url, _frame_jpeg(frame), 20)
        for t in threads:
            t.join(90)
        answered_s = time.monotonic() - t0
    finally:
        d.stop()
    return {
        "slow_clients": clients,
        "slow_replies": dict(Counter(replies)),
        "slow_answered_within_s": answered_s,
        "honest": honest,
    }


def scan_bomb(scans: int = 1500) -> bytes:
    """A small progressive JPEG followed by ``scans`` empty refinement scans."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 120, 200)).save(buf, "JPEG", progressive=True)
    head = buf.getvalue()[:-2]  # without EOI
    empty_scan = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    return head + empty_scan * scans + b"\xff\xd9"


def scan_bombs(model: str, frame: Path, logs: Path) -> dict[str, Any]:
    d = start_daemon(logs, "--model", model)
    try:
        d.wait("/readyz")
        bomb = scan_bomb()
        t0 = time.perf_counter()
        status = _post(d.url, bomb, "image/jpeg", "json")
        bomb_ms = (time.perf_counter() - t0) * 1e3
        bombs = threading.Thread(
            target=lambda: [_post(d.url, bomb, "image/jpeg") for _ in range(20)]
        )
        bombs.start()
        honest = _honest(d.url, _frame_jpeg(frame), 20)
        bombs.join()
    finally:
        d.stop()
    return {"bytes": len(bomb), "status": status, "answer_ms": bomb_ms, "honest": honest}


def silent_connections(model: str, logs: Path, count: int = 1100) -> dict[str, Any]:
    """``count`` connections that never send a byte, the daemon at systemd's default soft
    limit of 1024 descriptors: can an honest client still get in, and how long until the
    daemon has closed them all?"""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    d = start_daemon(logs, "--model", model)
    sockets: list[socket.socket] = []
    try:
        d.wait("/readyz")
        resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE, (1024, hard))
        port = int(d.url.rsplit(":", 1)[1])
        t0 = time.monotonic()
        for _ in range(count):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        ok = 0
        for _ in range(10):
            with contextlib.suppress(httpx.HTTPError):
                ok += httpx.get(d.url + "/healthz", timeout=15).status_code == 200
        closed_s = _until_closed(sockets, t0)
        after = httpx.get(d.url + "/healthz", timeout=15).status_code
    finally:
        for s in sockets:
            s.close()
        d.stop()
    return {
        "connections": count,
        "soft_limit": 1024,
        "healthz_ok_of_10": ok,
        "all_closed_by_daemon_s": closed_s,
        "healthz_after": after,
    }


def _until_closed(sockets: list[socket.socket], t0: float, limit_s: float = 60) -> float | None:
    """Seconds from ``t0`` until the peer has closed every socket (recv returns b'')."""
    open_ = list(sockets)
    for s in open_:
        s.setblocking(False)
    while open_ and time.monotonic() - t0 < limit_s:
        still = []
        for s in open_:
            try:
                if s.recv(1) != b"":
                    still.append(s)
            except BlockingIOError:
                still.append(s)
            except OSError:
                pass  # reset: closed too
        open_ = still
        if open_:
            time.sleep(0.1)
    return None if open_ else time.monotonic() - t0


def sigterm_under_load(
    model: str, frame: Path, big: tuple[bytes, str], logs: Path, clients: int = 4
) -> dict[str, Any]:
    """``clients`` keep uploading frames and one a 40 MP PNG; SIGTERM after 3 s."""
    d = start_daemon(logs, "--model", model)
    seen: Counter[str] = Counter()
    stop = threading.Event()
    body = _frame_jpeg(frame)

    def client(payload: bytes, ctype: str) -> None:
        while not stop.is_set():
            try:
                r = httpx.post(
                    d.url + "/v1/segment?format=overlay",
                    content=payload,
                    headers={"Content-Type": ctype},
                    timeout=60,
                )
            except httpx.ConnectError:
                seen["connection refused (listener closed)"] += 1
                return  # the daemon is stopping: a real client would back off
            except httpx.HTTPError:
                seen["no answer (reset)"] += 1
                return
            json_body = r.headers.get("content-type", "").startswith("application/json")
            seen[f"{r.status_code}{' json' if json_body else ''}"] += 1

    try:
        d.wait("/readyz")
        threads = [
            threading.Thread(target=client, args=(body, "image/jpeg")) for _ in range(clients)
        ]
        threads.append(threading.Thread(target=client, args=big))
        for t in threads:
            t.start()
        time.sleep(3.0)
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        code = d.proc.wait(60)
        exit_s = time.monotonic() - t0
        stop.set()
        for t in threads:
            t.join(60)
    finally:
        stop.set()
        d.stop()
    return {"clients": clients + 1, "exit_code": code, "exit_s": exit_s, "answers": dict(seen)}


def run_all(model: str, frame: Path, out: Path, only: list[str] | None = None) -> dict[str, Any]:
    """Every scenario (or those in ``only``; the others come from an earlier
    ``hardening.json`` in ``out``)."""
    logs = out / "hardening-logs"
    if only is None:  # a full run replaces the last one's daemon logs (named by port)
        shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True, exist_ok=True)
    uploads = big_uploads(frame)
    scenarios = {
        "peak_rss": lambda: peak_rss(model, uploads, logs),
        "slow_bodies": lambda: slow_bodies(model, frame, logs),
        "scan_bombs": lambda: scan_bombs(model, frame, logs),
        "silent_connections": lambda: silent_connections(model, logs),
        "sigterm": lambda: sigterm_under_load(model, frame, uploads["PNG RGB"], logs),
    }
    previous = out / "hardening.json"
    figures = json.loads(previous.read_text()) if only and previous.exists() else {}
    for name, run in scenarios.items():
        if not only or name in only:
            figures[name] = run()
    (out / "hardening.json").write_text(json.dumps(figures, indent=2) + "\n")
    (out / "hardening.md").write_text(markdown(figures) + "\n")
    return figures


def markdown(f: dict[str, Any]) -> str:
    rows = f["peak_rss"]["uploads"]
    worst: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["format"] not in worst or r["peak_mb"] > worst[r["format"]]["peak_mb"]:
            worst[r["format"]] = r
    lines = [
        "## Hardening: heavy and hostile clients (fresh daemon per scenario)",
        "",
        f"Peak RSS of one {BIG_SIZE[0]}x{BIG_SIZE[1]} (40 MP) upload, the worst of "
        f"{', '.join(OUTPUTS)} per format [target ≤ 300 MB; the unit's MemoryMax is 400 MB]:",
        "",
        "| format | file | worst output | status | idle MB | peak MB | 1 s after MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in worst.items():
        lines.append(
            f"| {name} | {r['bytes'] / 2**20:.1f} MiB | {r['output']} | {r['status']} | "
            f"{r['idle_mb']:.0f} | {r['peak_mb']:.0f} | {r['after_mb']:.0f} |"
        )
    four = f["peak_rss"]["four_clients"]
    sb, bomb, silent, term = (
        f[k] for k in ("slow_bodies", "scan_bombs", "silent_connections", "sigterm")
    )
    lines += [
        "",
        f"- four clients at once, each a 40 MP PNG overlay: statuses {four['statuses']}, "
        f"peak {four['peak_mb']:.0f} MB (one large image is decoded at a time)",
        f"- slow bodies: {sb['slow_clients']} clients sending 1 byte/s got "
        f"{sb['slow_replies']} (all within {sb['slow_answered_within_s']:.0f} s; "
        "`request_timeout_s` is 10); meanwhile an honest client's 20 uploads: "
        f"{sb['honest']['statuses']}, p50 {sb['honest']['p50_ms']:.0f} ms, "
        f"max {sb['honest']['max_ms']:.0f} ms",
        f"- scan bomb ({bomb['bytes'] / 1024:.0f} KiB progressive JPEG, 1,500 empty scans): "
        f"{bomb['status']} in {bomb['answer_ms']:.0f} ms; an honest client beside 20 of them: "
        f"{bomb['honest']['statuses']}, p50 {bomb['honest']['p50_ms']:.0f} ms",
        f"- silent connections: {silent['connections']} that never send a byte, daemon at "
        f"a soft limit of {silent['soft_limit']} descriptors: /healthz answered "
        f"{silent['healthz_ok_of_10']}/10 meanwhile; the daemon had closed them all after "
        f"{_s(silent['all_closed_by_daemon_s'])}; /healthz after: {silent['healthz_after']}",
        f"- SIGTERM under load ({term['clients']} clients, one sending 40 MP PNGs): exit "
        f"{term['exit_code']} after {term['exit_s']:.1f} s [target < TimeoutStopSec=20 s]; "
        f"answers seen {term['answers']}",
    ]
    return "\n".join(lines)


def _s(v: float | None) -> str:
    return "never (within 60 s)" if v is None else f"{v:.1f} s"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--frame", type=Path, required=True, help="a real frame to build uploads from")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--only", nargs="+", help="run these scenarios, keep the others' figures")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    figures = run_all(args.model, args.frame, args.out, args.only)
    print(markdown(figures))


if __name__ == "__main__":
    main()
