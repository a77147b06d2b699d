"""The system report's judgements: each target's ratio, and why a figure is what it is,
explained from what the same run measured (never one machine's conclusion as prose)."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from edge_runtime.bench.report import threads_label
from edge_runtime.system_info import int8_features

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
