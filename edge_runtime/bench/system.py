"""The system benchmark report of this machine (``bench/run.py`` runs it).

    python bench/run.py [--quick]

Writes bench/results/<machine>.md (and <machine>/report.json, plots): edge-bench over the
shipped models (size, gzip, sparsity, MACs, latency, memory, pipeline split, mIoU), then a
real daemon on loopback for the system ratios the issue tracker asks for. Every number is
measured here, in one run; targets are in brackets, misses are said so.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from PIL import Image

from edge_runtime.bench import hardening, zone_cost
from edge_runtime.bench.daemon import Daemon, start_daemon
from edge_runtime.bench.http_bench import parse_server_timing
from edge_runtime.bench.int8_kernels import measure
from edge_runtime.bench.system_report import report_lines
from edge_runtime.defaults import checkout, data_root
from edge_runtime.system_info import int8_features

# The system report and the bench/ scripts run from a checkout (bench/, models/); an
# installed wheel has neither, and they are read relative to the working folder then.
ROOT = checkout() or Path.cwd()
DATA = data_root()


def machine_slug() -> str:
    from edge_runtime.system_info import cpu_model, raspberry_pi_model

    # The best int8 feature too: one "AMD EPYC" VM has VNNI, another only AVX2, and
    # their INT8 figures differ by 3x.
    features = int8_features()
    name = (
        f"{raspberry_pi_model() or cpu_model()} {os.cpu_count()}c {features[0] if features else ''}"
    )
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def start(args: list[str], out: Path, log_name: str) -> tuple[Daemon, float]:
    """A daemon, and how long it took from process start to ``/readyz`` 200, s."""
    t0 = time.monotonic()
    d = start_daemon(out, *args, log_name=log_name)
    d.wait("/readyz", timeout=120, poll_s=0.01)
    return d, time.monotonic() - t0


def rss_mb(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    line = next(x for x in text.splitlines() if x.startswith("edge_process_resident_memory_bytes"))
    return float(line.split()[1]) / 2**20


def daemon_figures(cfg: dict[str, Any], out: Path, quick: bool) -> dict[str, Any]:
    model = str(ROOT / cfg["model"])
    w, h = cfg["upload_size"]
    jpegs = []
    for p in sorted((DATA / "camvid/val").glob("*.png"))[:10]:
        with Image.open(p) as im:
            buf = io.BytesIO()
            im.convert("RGB").resize((w, h)).save(buf, "JPEG", quality=90)
            jpegs.append(buf.getvalue())
    figures: dict[str, Any] = {}
    d, ready_s = start(["--model", model], out, "daemon-uploads.log")
    url = d.url
    figures["start_to_ready_s"] = ready_s
    try:
        client = httpx.Client(base_url=url, timeout=60)
        server_total, invoke = [], []
        for i in range(50):
            r = client.post(
                "/v1/segment?format=mask",
                content=jpegs[i % len(jpegs)],
                headers={"Content-Type": "image/jpeg"},
            )
            timing = parse_server_timing(r.headers["server-timing"])
            server_total.append(timing["total"])
            invoke.append(timing["invoke"])
        figures["jpeg_to_png_server_ms"] = statistics.median(server_total)
        figures["invoke_ms"] = statistics.median(invoke)
        rss_start = rss_mb(url)
        n = 200 if quick else int(cfg["requests"])
        for i in range(n):
            client.post(
                "/v1/segment?format=mask",
                content=jpegs[i % len(jpegs)],
                headers={"Content-Type": "image/jpeg"},
            )
        figures["rss_requests"] = n
        figures["rss_before_mb"] = rss_start
        figures["rss_after_mb"] = rss_mb(url)
        client.close()
    finally:
        d.stop()
    # Replayed source: frames per second the daemon sustains vs what invoke allows.
    d, _ = start(
        ["--model", model, "--source", str(DATA / "camvid/val"), "--source-fps", "1000"],
        out,
        "daemon-replay.log",
    )
    url = d.url
    try:
        time.sleep(2)
        first = httpx.get(url + "/readyz").json()["camera"]["processed"]
        seconds = 5 if quick else float(cfg["replay_seconds"])
        time.sleep(seconds)
        cam = httpx.get(url + "/readyz").json()["camera"]
        stats = httpx.get(url + "/v1/stats").json()
        figures["replay_fps"] = (cam["processed"] - first) / seconds
        figures["replay_invoke_p50_ms"] = stats["invoke_ms"]["p50"]
    finally:
        d.stop()
    return figures


def hardening_figures(cfg: dict[str, Any], out: Path, quick: bool) -> dict[str, Any]:
    """Hostile uploads (statuses, 5xx count), overload behaviour, and RSS over a long soak."""
    from edge_runtime.bench.hostile import hostile_corpus

    model = str(ROOT / cfg["model"])
    figures: dict[str, Any] = {}
    d, _ = start(["--model", model], out, "daemon-hardening.log")
    url = d.url
    try:
        client = httpx.Client(base_url=url, timeout=60)
        statuses: dict[str, int] = {}
        for body in hostile_corpus().values():
            for ctype in ("image/png", "image/jpeg", "application/octet-stream"):
                r = client.post(
                    "/v1/segment?format=mask", content=body, headers={"Content-Type": ctype}
                )
                statuses[str(r.status_code)] = statuses.get(str(r.status_code), 0) + 1
        figures["hostile_inputs"] = len(hostile_corpus())
        figures["hostile_requests"] = sum(statuses.values())
        figures["hostile_statuses"] = statuses
        figures["hostile_5xx"] = sum(v for k, v in statuses.items() if k.startswith("5"))
        figures["alive_after"] = client.get("/healthz").status_code == 200
        client.close()
    finally:
        d.stop()
    # Overload: more concurrent clients than max_inflight + max_waiting (2 + 8).
    images = sorted((DATA / "camvid/val").glob("*.png"))[:10]
    from edge_runtime.bench.http_bench import bench_http

    d, _ = start(["--model", model], out, "daemon-overload.log")
    url = d.url
    try:
        level = bench_http(url, images, concurrency=[16], duration_s=5 if quick else 15)[0]
        figures["overload"] = {
            "concurrency": 16,
            "statuses": level["statuses"],
            "accepted_p99_ms": (level["latency_ms"] or {}).get("p99"),
            "accepted_p50_ms": (level["latency_ms"] or {}).get("p50"),
            "alive_after": httpx.get(url + "/healthz").status_code == 200,
        }
    finally:
        d.stop()
    # Soak: RSS growth over many requests (a small JPEG keeps it about the daemon).
    n = 500 if quick else int(cfg.get("soak_requests", 10_000))
    d, _ = start(["--model", model], out, "daemon-soak.log")
    url = d.url
    try:
        buf = io.BytesIO()
        with Image.open(images[0]) as im:
            im.convert("RGB").resize((320, 240)).save(buf, "JPEG")
        body = buf.getvalue()
        with httpx.Client(base_url=url, timeout=60) as c:
            for _ in range(100):
                c.post(
                    "/v1/segment?format=mask", content=body, headers={"Content-Type": "image/jpeg"}
                )
            before = rss_mb(url)
            for _ in range(n):
                c.post(
                    "/v1/segment?format=mask", content=body, headers={"Content-Type": "image/jpeg"}
                )
            figures["soak"] = {"requests": n, "rss_before_mb": before, "rss_after_mb": rss_mb(url)}
    finally:
        d.stop()
    return figures


def kernel_comparison(
    cfg: dict[str, Any], present: list[Path], threads: list[int], out: Path, quick: bool
) -> list[dict[str, Any]]:
    """INT8 vs float32 under XNNPACK and under the built-in kernels (see int8_kernels.py)."""
    by_stem = {m.stem: m for m in present}
    models = [by_stem[n] for pair in cfg["pairs"] for n in pair if n in by_stem]
    if not models:
        return []
    rows = measure(models, threads, runs=5 if quick else int(cfg["runs"]))
    (out / "int8_kernels.json").write_text(json.dumps(rows, indent=2) + "\n")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke test)")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the markdown from this machine's saved JSON, measuring nothing",
    )
    args = parser.parse_args()
    cfg = yaml.safe_load((ROOT / "bench/scenarios.yaml").read_text())
    slug = machine_slug()
    out = ROOT / "bench/results" / slug
    out.mkdir(parents=True, exist_ok=True)
    models = [ROOT / m for m in cfg["models"]]
    present = [m for m in models if m.exists()]
    if not args.report_only:
        measure_all(cfg, present, out, args.quick)
    saved = {
        name: json.loads((out / f"{name}.json").read_text())
        for name in ("report", "daemon", "hardening")
    }
    kernels = out / "int8_kernels.json"
    kernel_rows = json.loads(kernels.read_text()) if kernels.exists() else []
    lines = report_lines(cfg, slug, out, saved, kernel_rows)
    missing = [m for m in models if not m.exists()]
    if missing:
        lines.append(
            "Not measured (file absent here; `bash models/rebuild.sh` writes it): "
            + ", ".join(m.name for m in missing)
        )
    lines.append(f"\nRegenerate: `python bench/run.py` ({time.strftime('%Y-%m-%d')}).")
    (ROOT / "bench/results" / f"{slug}.md").write_text("\n".join(lines) + "\n")
    print(ROOT / "bench/results" / f"{slug}.md")


def measure_all(cfg: dict[str, Any], present: list[Path], out: Path, quick: bool) -> None:
    """Every measurement, saved as JSON in ``out``: edge-bench (report.json), the daemon
    (daemon.json), heavy clients (hardening.json), the kernel table (int8_kernels.json)."""
    cmd = [
        sys.executable,
        "-m",
        "edge_runtime.cli.bench",
        *map(str, present),
        "--threads",
        ",".join(map(str, cfg["threads"])),
        "--runs",
        str(20 if quick else cfg["runs"]),
        "--warmup",
        str(cfg["warmup"]),
        "--images",
        str(DATA / cfg["images"]),
        "--masks",
        str(DATA / cfg["masks"]),
        "--out",
        str(out),
        "--plot",
        "--format",
        "json",
    ]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    figures = daemon_figures(cfg["daemon"], out, quick)
    hard = hardening_figures(cfg["daemon"], out, quick)
    (out / "daemon.json").write_text(json.dumps({**figures, **hard}, indent=2) + "\n")
    frame = sorted((DATA / "camvid/val").glob("*.png"))[0]
    hardening.run_all(str(ROOT / cfg["daemon"]["model"]), frame, out)
    cost = zone_cost.measure(DATA / "camvid/val", ROOT / cfg["daemon"]["model"])
    (out / "zone_cost.json").write_text(json.dumps(cost, indent=2) + "\n")
    kernel_comparison(cfg["kernels"], present, cfg["threads"], out, quick)


if __name__ == "__main__":
    main()
