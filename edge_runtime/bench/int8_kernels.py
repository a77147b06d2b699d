"""Why INT8 is (or is not) faster than float32 on this CPU: the same models timed with
LiteRT's default XNNPACK delegate and with TFLite's built-in kernels (no default delegate).

    python -m edge_runtime.bench.int8_kernels MODEL [MODEL...] [--threads 1,2] [--runs 30]

Every (model, kernels, threads) interpreter is built first, then invoked in round-robin
rounds so that machine noise (other processes, frequency changes) hits all of them alike;
medians are reported. The system report (bench/run.py) includes this table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime import litert

# name -> (op resolver, XNNPACK's "latest features" flag)
KERNELS = {
    "xnnpack": ("BUILTIN", False),  # LiteRT's default: XNNPACK on every op it supports
    "xnnpack-latest": ("BUILTIN", True),  # + experimental_default_delegate_latest_features
    "builtin": ("BUILTIN_WITHOUT_DEFAULT_DELEGATES", False),  # TFLite's own kernels (ruy)
}


def _interpreter(model: Path, kernels: str, threads: int) -> Any:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver, latest = KERNELS[kernels]
    interp = Interpreter(
        model_path=str(model),
        num_threads=threads,
        experimental_op_resolver_type=OpResolverType[resolver],
        experimental_default_delegate_latest_features=latest,
    )
    interp.allocate_tensors()
    d = interp.get_input_details()[0]
    rng = np.random.default_rng(0)
    if np.issubdtype(d["dtype"], np.integer):
        info = np.iinfo(d["dtype"])
        x = rng.integers(info.min, info.max, d["shape"], endpoint=True).astype(d["dtype"])
    else:
        x = rng.standard_normal(d["shape"]).astype(d["dtype"])
    interp.set_tensor(d["index"], x)
    return interp


def measure(
    models: list[Path],
    threads: list[int],
    runs: int = 30,
    warmup: int = 3,
    kernels: tuple[str, ...] = tuple(KERNELS),
) -> list[dict[str, Any]]:
    """Median invoke ms per (model, kernels, threads), measured round-robin."""
    if litert.RUNTIME != "ai-edge-litert":
        raise RuntimeError("the kernel comparison needs ai-edge-litert (OpResolverType)")
    cases = [
        {"model": m.stem, "kernels": k, "threads": t, "_interp": _interpreter(m, k, t)}
        for m in models
        for k in kernels
        for t in threads
    ]
    times: list[list[float]] = [[] for _ in cases]
    for i in range(warmup + runs):
        for case, samples in zip(cases, times, strict=True):
            t0 = time.perf_counter()
            case["_interp"].invoke()
            if i >= warmup:
                samples.append((time.perf_counter() - t0) * 1e3)
    return [
        {
            **{k: v for k, v in case.items() if not k.startswith("_")},
            "p50_ms": statistics.median(s),
            "runs": len(s),
        }
        for case, s in zip(cases, times, strict=True)
    ]


def ratio_table(rows: list[dict[str, Any]], pairs: list[tuple[str, str]]) -> list[str]:
    """Markdown: INT8 ÷ float32 p50 for each (float32 model, INT8 model) pair."""
    p50 = {(r["model"], r["kernels"], r["threads"]): r["p50_ms"] for r in rows}
    threads = sorted({r["threads"] for r in rows})
    lines = [
        "| float32 → INT8 | kernels | threads | float32 p50 ms | INT8 p50 ms | INT8 ÷ float32 |",
        "|---|---|---|---|---|---|",
    ]
    for f32, i8 in pairs:
        for kernels in KERNELS:
            for t in threads:
                a, b = p50.get((f32, kernels, t)), p50.get((i8, kernels, t))
                if a is None or b is None:
                    continue
                lines.append(
                    f"| {f32} → {i8} | {kernels} | {t} | {a:.1f} | {b:.1f} | {b / a:.2f} |"
                )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = measure(args.models, [int(t) for t in args.threads.split(",")], args.runs)
    for r in rows:
        print(f"{r['model']:28} {r['kernels']:14} {r['threads']} threads  p50 {r['p50_ms']:.1f} ms")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
