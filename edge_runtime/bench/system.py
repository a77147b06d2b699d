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
from edge_runtime.bench.int8_kernels import measure, ratio_table
from edge_runtime.bench.report import threads_label
from edge_runtime.defaults import checkout, data_root
from edge_runtime.system_info import int8_features

# The system report and the bench/ scripts run from a checkout (bench/, models/); an
# installed wheel has neither, and they are read relative to the working folder then.
ROOT = checkout() or Path.cwd()
DATA = data_root()


def machine_slug() -> str:
    from edge_runtime.system_info import cpu_model, int8_features, raspberry_pi_model

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


def thread_choice(model: dict[str, Any] | None) -> dict[str, Any]:
    """The default thread count (the cores this process may use) against the fastest of
    the thread counts edge-bench measured, for one model."""
    from edge_runtime.engine import usable_cores

    default = usable_cores()
    p50 = {r["threads"]: r["invoke_ms"]["p50"] for r in (model or {}).get("runs", [])}
    if not p50:
        return {"default": default, "best": None, "ratio": None, "p50_ms": {}}
    best = min(p50, key=p50.__getitem__)
    ratio = p50[default] / p50[best] if default in p50 else None
    return {"default": default, "best": best, "ratio": ratio, "p50_ms": p50}


DOT_PRODUCT = ("amx_int8", "avx512_vnni", "avx_vnni", "i8mm", "asimddp")


def explain_int8(ratio: float, kernel_rows: list[dict[str, Any]], pair: tuple[str, str]) -> str:
    """Why INT8 ÷ float32 is what it is here, from this CPU's features and this run."""
    features = int8_features()
    dot = [f for f in features if f in DOT_PRODUCT]
    builtin = _kernel_ratio(kernel_rows, pair, "builtin")
    text = f"INT8 ÷ float32 is {ratio:.2f} here with XNNPACK; this CPU's int8 features: " + (
        ", ".join(features) or "none"
    )
    if dot:
        text += (
            f". It has an int8 dot-product instruction ({dot[0]}), so the int8 kernels are "
            "not short of arithmetic: what is left is memory traffic and the float parts"
        )
    else:
        text += (
            ". Without an int8 dot-product instruction (VNNI on x86, SDOT on Arm) an int8 "
            "multiply-accumulate needs widening to 16 bits, so XNNPACK's INT8 kernels gain "
            "little over its float32 ones"
        )
    if builtin is not None:
        text += f"; TFLite's built-in kernels give {builtin:.2f} in the same run (table below)"
    return text


def _kernel_ratio(rows: list[dict[str, Any]], pair: tuple[str, str], kernels: str) -> float | None:
    def p50(model: str) -> float | None:
        hits = [
            r["p50_ms"]
            for r in rows
            if r.get("model") == model and r.get("kernels") == kernels and "p50_ms" in r
        ]
        return min(hits) if hits else None  # the most threads is the fastest row

    f32, i8 = p50(pair[0]), p50(pair[1])
    return i8 / f32 if f32 and i8 else None


def explain_gzip(model: dict[str, Any]) -> str:
    """Bits per weight after gzip, from the model's own size, zeros and parameters."""
    bits = model["gzip_bytes"] * 8 / max(model["params"], 1)
    return (
        f"{model['name']}: {model['zero_weight_fraction']:.0%} zero weights, gzip leaves "
        f"{bits:.1f} bits per parameter; the non-zero int8 values of a pruned-only model "
        "are close to random bytes, and only clustering (few shared values per kernel) "
        "shrinks them further"
    )


def explain_server_time(daemon: dict[str, Any], model: dict[str, Any] | None) -> str:
    """The stages around invoke, which do not get faster with the model."""
    total, invoke = daemon["jpeg_to_png_server_ms"], daemon["invoke_ms"]
    text = (
        f"the daemon's invoke p50 is {invoke:.1f} ms and the whole request's server time "
        f"{total:.1f} ms: {total - invoke:.1f} ms go to decoding the JPEG, resizing, the "
        "label map and the PNG, whatever the model costs"
    )
    stages = (model or {}).get("runs", [{}])[-1].get("pipeline", {}).get("stages_ms")
    if stages:
        text += (
            " (edge-bench's stage medians for this model: "
            + ", ".join(
                f"{k} {v:.1f} ms" for k, v in stages.items() if k not in ("invoke", "total")
            )
            + ")"
        )
    return text + "; the faster the CPU runs the model, the larger their share"


def explain_replay(daemon: dict[str, Any]) -> str:
    """Where a camera-loop frame's time goes beside invoke."""
    fps, invoke = daemon["replay_fps"], daemon["replay_invoke_p50_ms"]
    frame_ms = 1000 / fps if fps else float("inf")
    return (
        f"{fps:.1f} fps is {frame_ms:.1f} ms a frame, {frame_ms - invoke:.1f} ms of it outside "
        f"the invoke ({invoke:.1f} ms in the loop against {daemon['invoke_ms']:.1f} ms for "
        "uploads): the loop also reads, decodes and resizes each replayed PNG and encodes the "
        "stream's JPEG, on the same cores as the interpreter"
    )


def explain_start(start_s: float) -> str:
    """How much of the start is Python importing the daemon, measured in a fresh process."""
    t0 = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", "import edge_runtime.api.app, edge_runtime.engine"], check=True
    )
    imports = time.monotonic() - t0
    return (
        f"of the {start_s:.2f} s, {imports:.2f} s is a fresh Python importing the daemon's "
        "modules (FastAPI, uvicorn, numpy, LiteRT; measured just now); the rest is loading "
        "and warming up the model. On an SD card the first start after boot is slower"
    )


def verdict(value: float | None, target: float, below: bool) -> str:
    if value is None:
        return "not measured"
    ok = value <= target if below else value >= target
    return "met" if ok else "**missed**"


Ratio = tuple[str, float | None, float, bool]  # name, value, target, lower is better


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


def system_ratios(
    cfg: dict[str, Any], by_name: dict[str, Any], daemon: dict[str, Any], threads: dict[str, Any]
) -> list[Ratio]:
    def p50(m: dict[str, Any] | None) -> float | None:
        return float(m["runs"][-1]["invoke_ms"]["p50"]) if m else None

    pair = cfg["compare"]["int8"]
    f32, i8 = p50(by_name.get(cfg["compare"]["float32"])), p50(by_name.get(pair))
    # The default pair first, then the other models' rows (absent files: "not measured").
    gzip_rows: list[Ratio] = []
    for f32_name, i8_name in [(cfg["compare"]["float32"], pair), *cfg.get("also_gzip", [])]:
        a, b = by_name.get(f32_name), by_name.get(i8_name)
        ratio = b["gzip_bytes"] / a["size_bytes"] if a and b else None
        gzip_rows.append((f"gzip(INT8 sparse) ÷ float32 size ({i8_name})", ratio, 0.10, True))
    return [
        (
            f"default model invoke p50 with the default {threads['default']} threads ÷ the "
            f"best measured ({threads_label(threads['best'])})",
            threads["ratio"],
            1.10,
            True,
        ),
        (
            "server time, 640x480 JPEG → PNG mask ÷ raw invoke",
            daemon["jpeg_to_png_server_ms"] / daemon["invoke_ms"],
            1.25,
            True,
        ),
        (
            "daemon fps on a replayed source ÷ (1000 / invoke ms)",
            daemon["replay_fps"] / (1000 / daemon["replay_invoke_p50_ms"]),
            0.90,
            False,
        ),
        (
            f"INT8 invoke ÷ float32 invoke ({pair}, p50, most threads)",
            i8 / f32 if f32 and i8 else None,
            0.70,
            True,
        ),
        *gzip_rows,
        (
            f"daemon RSS after {daemon['rss_requests']} requests, MB",
            daemon["rss_after_mb"],
            150,
            True,
        ),
        (
            "RSS growth over those requests, MB",
            daemon["rss_after_mb"] - daemon["rss_before_mb"],
            5,
            True,
        ),
        ("process start → /readyz 200, s", daemon["start_to_ready_s"], 2.0, True),
        (
            f"RSS growth over a {daemon['soak']['requests']:,}-request soak, MB",
            daemon["soak"]["rss_after_mb"] - daemon["soak"]["rss_before_mb"],
            5,
            True,
        ),
    ]


def report_lines(
    cfg: dict[str, Any],
    slug: str,
    out: Path,
    saved: dict[str, Any],
    kernel_rows: list[dict[str, Any]],
) -> list[str]:
    report, daemon, heavy = saved["report"], saved["daemon"], saved["hardening"]
    by_name = {m["name"]: m for m in report["models"]}
    pair = cfg["compare"]["int8"]
    threads = thread_choice(by_name.get(pair))
    ratios = system_ratios(cfg, by_name, daemon, threads)
    lines = (out / "report.md").read_text().splitlines()
    lines[0] = f"# Benchmark report — {slug}"
    lines += [
        "",
        "## System ratios (one run, this machine)",
        "",
        "| figure | value | target | |",
        "|---|---|---|---|",
    ]
    for name, value, target, below in ratios:
        v = "–" if value is None else f"{value:.3f}"
        lines.append(
            f"| {name} | {v} | {'≤' if below else '≥'} {target} | {verdict(value, target, below)} |"
        )

    def why(name: str, value: float) -> str | None:
        if name.startswith("INT8 invoke"):
            return explain_int8(value, kernel_rows, (cfg["compare"]["float32"], pair))
        if name.startswith("gzip(INT8 sparse)"):
            model = by_name.get(name.rsplit("(", 1)[1].rstrip(")"))
            return explain_gzip(model) if model else None
        if name.startswith("process start"):
            return explain_start(value)
        if name.startswith("server time"):
            return explain_server_time(daemon, by_name.get(pair))
        if name.startswith("daemon fps on a replayed source"):
            return explain_replay(daemon)
        return None

    misses = [
        f"- *{name}*: {text}"
        for name, value, target, below in ratios
        if value is not None
        and verdict(value, target, below) != "met"
        and (text := why(name, value)) is not None
    ]
    if misses:
        lines += ["", "Why the missed targets are missed here:", "", *misses]
    if kernel_rows:
        lines += [
            "",
            "## INT8 vs float32 by kernel library (same run, round-robin, medians)",
            "",
            "`xnnpack` is LiteRT's default (what the daemon runs); `xnnpack-latest` adds",
            "`experimental_default_delegate_latest_features`; `builtin` is TFLite's own",
            "kernels without the default delegate (`python -m edge_runtime.bench.int8_kernels`).",
            "",
            *ratio_table(kernel_rows, [tuple(p) for p in cfg["kernels"]["pairs"]]),
        ]
    lines += thread_lines(threads, daemon)
    lines += hardening_lines(daemon)
    lines += ["", hardening.markdown(heavy).replace("## ", "### ", 1)]
    cost_file = out / "zone_cost.json"
    if cost_file.exists():
        lines += [
            "",
            "## Zones (same run)",
            "",
            zone_cost.markdown(json.loads(cost_file.read_text())),
        ]
    lines += [
        "",
        f"Daemon figures: `{slug}/daemon.json`, `{slug}/hardening.json`. "
        f"Plots: `{slug}/latency.png`, `{slug}/miou_vs_latency.png`.",
        "",
    ]
    return lines


def thread_lines(threads: dict[str, Any], daemon: dict[str, Any]) -> list[str]:
    if not threads["p50_ms"]:
        return []
    by = {int(k): v for k, v in threads["p50_ms"].items()}
    default = threads["default"]
    gain = by[1] / by[default] if 1 in by and default in by else None
    return [
        "",
        "## Threads (default model, same run)",
        "",
        "- invoke p50 by thread count (edge-bench): "
        + ", ".join(f"{t}: {ms:.2f} ms" for t, ms in sorted(by.items()))
        + f"; with no `--threads` the runtime uses the {default} cores this process may use "
        "(`os.sched_getaffinity`; shown in `/v1/models`)"
        + (f", {gain:.2f}x faster than 1 thread" if gain else ""),
        f"- in the daemon with that default: invoke p50 {daemon['invoke_ms']:.2f} ms for "
        f"uploads, {daemon['replay_invoke_p50_ms']:.2f} ms in the camera loop (a replayed "
        "source at full speed, HTTP served meanwhile)",
    ]


def hardening_lines(hard: dict[str, Any]) -> list[str]:
    ov, soak = hard["overload"], hard["soak"]
    return [
        "",
        "## Hardening (same run)",
        "",
        f"- hostile uploads: {hard['hostile_inputs']} files x 3 Content-Types = "
        f"{hard['hostile_requests']} requests -> statuses {hard['hostile_statuses']}; "
        f"**{hard['hostile_5xx']} x 5xx**; daemon alive after: {hard['alive_after']}",
        f"- overload: {ov['concurrency']} clients against max_inflight 2 + max_waiting 8 -> "
        f"statuses {ov['statuses']}; accepted requests p50 {ov['accepted_p50_ms']:.0f} ms, "
        f"p99 {ov['accepted_p99_ms']:.0f} ms (bounded by request_timeout_s); "
        f"alive after: {ov['alive_after']}",
        f"- soak: {soak['requests']:,} requests, RSS {soak['rss_before_mb']:.1f} -> "
        f"{soak['rss_after_mb']:.1f} MB",
    ]


if __name__ == "__main__":
    main()
