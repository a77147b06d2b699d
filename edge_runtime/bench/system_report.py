"""The system report as Markdown: the tables and the explanations, from measured figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edge_runtime.bench import hardening, zone_cost
from edge_runtime.bench.explain import (
    explain_gzip,
    explain_int8,
    explain_replay,
    explain_server_time,
    explain_start,
    system_ratios,
    thread_choice,
    verdict,
)
from edge_runtime.bench.int8_kernels import ratio_table


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
