"""Re-measure what issue 26's attack found to hold, against real daemons on loopback:

- auth: every route the app serves (from its OpenAPI document, plus the stream, the
  snapshot and the docs) with each kind of wrong credential: all 401, the public routes 200;
- viewers: 50 reading /stream.mjpg and 20 that never read, RSS before, with them and after;
  every one released (edge_stream_clients back to 0), then SIGTERM with 20 stalled viewers
  connected: seconds to exit and the exit code;
- reloads: 600 POST /v1/models/reload in a row, RSS after 10, 150, 300 and all;
- MQTT: a real mosquitto killed for 5 s mid-run, then seconds from its return until the
  daemon says it is connected again.

    python bench/robustness_recheck.py [--out bench/results/<machine>/robustness.md]

Figures, not asserts: the suite tests the behaviour; this reports how it holds up here.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx

from edge_runtime.bench.daemon import Daemon, free_port, metric, rss_mb, start_daemon
from edge_runtime.bench.system import ROOT, machine_slug
from edge_runtime.defaults import data_root

TOKEN = "recheck-" + "k" * 24
PUBLIC = {"/healthz", "/readyz", "/"}
WRONG = {
    "none": {},
    "bearer, no token": {"Authorization": "Bearer"},
    "wrong token": {"Authorization": "Bearer " + "x" * len(TOKEN)},
    "token prefix": {"Authorization": "Bearer " + TOKEN[:-1]},
    "token + suffix": {"Authorization": "Bearer " + TOKEN + "x"},
    "basic scheme": {"Authorization": "Basic " + TOKEN},
    "token without scheme": {"Authorization": TOKEN},
    "wrong cookie": {"Cookie": "edge_token=nope"},
    "token in query": {},  # ?token=… is not a credential here
}


def gauge(d: Daemon, name: str) -> float:
    value = metric(httpx.get(d.url + "/metrics", headers=auth(), timeout=30).text, name)
    if value is None:
        raise KeyError(name)
    return value


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def check_auth(d: Daemon) -> list[str]:
    spec = httpx.get(d.url + "/openapi.json", headers=auth(), timeout=30).json()
    routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    routes |= {("GET", "/stream.mjpg"), ("GET", "/snapshot.jpg"), ("GET", "/docs")}
    routes |= {("GET", "/openapi.json"), ("GET", "/nope"), ("GET", "//v1//models")}
    wrong = total = 0
    for method, path in sorted(routes):
        url = d.url + path.replace("{event_id}", "0" * 32)
        for variant, headers in WRONG.items():
            params = {"token": TOKEN} if variant == "token in query" else None
            with httpx.stream(method, url, headers=headers, params=params, timeout=30) as r:
                expected = 200 if path in PUBLIC else 401
                total += 1
                if r.status_code != expected and not (path in PUBLIC and r.status_code < 500):
                    wrong += 1
    return [
        f"| auth | {len(routes)} routes × {len(WRONG)} wrong credentials = {total} requests | "
        f"{wrong} not refused (public: /healthz, /readyz, the page shell) |"
    ]


def check_viewers(d: Daemon) -> list[str]:
    pid = d.proc.pid
    _, before = rss_mb(pid)
    stop = threading.Event()
    started = threading.Semaphore(0)

    def reader() -> None:
        with httpx.stream("GET", d.url + "/stream.mjpg", headers=auth(), timeout=60) as r:
            started.release()
            for _ in r.iter_bytes(1 << 14):
                if stop.is_set():
                    return

    stalled = []
    for _ in range(20):  # a request, then never a byte read
        s = socket.create_connection(("127.0.0.1", int(d.url.rsplit(":", 1)[1])))
        s.sendall(
            f"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}"
            "\r\n\r\n".encode()
        )
        stalled.append(s)
    readers = [threading.Thread(target=reader, daemon=True) for _ in range(50)]
    for t in readers:
        t.start()
    for _ in readers:
        started.acquire(timeout=60)
    time.sleep(10)  # a soak, not a race: RSS is read after it
    _, during = rss_mb(pid)
    clients = gauge(d, "edge_stream_clients")
    stop.set()
    for t in readers:
        t.join(60)
    deadline = time.monotonic() + 30
    while gauge(d, "edge_stream_clients") > len(stalled) and time.monotonic() < deadline:
        time.sleep(0.2)
    after_readers = gauge(d, "edge_stream_clients")
    _, after = rss_mb(pid)
    t0 = time.monotonic()
    code = d.stop()
    took = time.monotonic() - t0
    for s in stalled:
        s.close()
    return [
        f"| viewers | 50 reading + 20 stalled on /stream.mjpg for 10 s | {clients:.0f} clients "
        f"open; RSS {before:.0f} → {during:.0f} MB with them, {after:.0f} MB after the readers "
        f"left ({after_readers:.0f} clients left: the stalled ones) |",
        f"| SIGTERM | with the 20 stalled viewers connected | exit {code} in {took:.2f} s |",
    ]


def check_reloads(d: Daemon, count: int = 600) -> list[str]:
    """RSS at a few points of ``count`` reloads: growth that keeps going is a leak, a step
    that levels off is the allocator settling."""
    pid = d.proc.pid
    marks = (10, 150, 300, count)
    rss = []
    failed = 0
    for i in range(1, count + 1):
        r = httpx.post(d.url + "/v1/models/reload", headers=auth(), timeout=120)
        failed += r.status_code != 200
        if i in marks:
            rss.append(f"{rss_mb(pid)[1]:.0f} MB after {i}")
    return [
        f"| reloads | {count} POST /v1/models/reload | {count - failed} answered 200; RSS "
        f"{', '.join(rss)} |"
    ]


def check_mqtt(folder: Path, frames: Path) -> list[str]:
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(mosquitto).exists():
        return ["| MQTT | not measured: mosquitto is not installed | |"]
    port = free_port()  # for mosquitto, which cannot be asked to pick one and say it
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")

    def broker() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([mosquitto, "-c", str(conf)], stderr=subprocess.DEVNULL)
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc
            except OSError:
                time.sleep(0.05)

    settings = folder / "mqtt.yaml"
    settings.write_text(  # MQTT carries zone events: one whole-frame zone watching Road
        f"source: {frames}\nsource_fps: 5\nevents_dir: {folder / 'events'}\n"
        "zones:\n  - name: all\n    polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]\n"
        f"    classes: [Road]\nmqtt:\n  host: 127.0.0.1\n  port: {port}\n"
    )
    b = broker()
    d = start_daemon(folder, "--config", str(settings), "--token-file", token_file(folder))
    try:
        d.wait("/readyz", timeout=120)

        def state() -> str:
            return str(httpx.get(d.url + "/readyz", headers=auth(), timeout=30).json().get("mqtt"))

        while state() != "connected":
            time.sleep(0.1)
        b.kill()
        b.wait()
        while state() == "connected":
            time.sleep(0.1)
        time.sleep(5)  # the outage
        b = broker()
        t0 = time.monotonic()
        while state() != "connected":
            time.sleep(0.05)
        back = time.monotonic() - t0
    finally:
        d.stop()
        b.kill()
    return [
        f"| MQTT | broker killed for 5 s mid-run, then restarted | reconnected {back:.1f} s "
        "after it was back (paho back-off: 1 s, doubling to 60 s) |"
    ]


def token_file(folder: Path) -> str:
    path = folder / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return str(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    frames = data_root() / "camvid" / "val"
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        d = start_daemon(folder, "--source", str(frames), "--token-file", token_file(folder))
        try:
            d.wait("/readyz", timeout=120)
            rows += check_auth(d)
            rows += check_reloads(d)
            rows += check_viewers(d)  # ends with SIGTERM
        finally:
            d.stop()
        rows += check_mqtt(folder, frames)
    out = args.out or ROOT / "bench/results" / machine_slug() / "robustness.md"
    text = "\n".join(
        [
            "# Robustness re-check (issue 26's held-up list)",
            "",
            "Real daemons on loopback with a token, replaying CamVid val as the camera. "
            "Command: `python bench/robustness_recheck.py`.",
            "",
            "| check | load | result |",
            "|---|---|---|",
            *rows,
            "",
        ]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
