"""Benchmark one model at one thread count, in a fresh process (clean memory figures).

Everything goes through the shared pipeline: the same ``Engine`` and ``Pipeline`` the
daemon runs. Keys of the returned dicts are the JSON report's (README: edge-bench).
"""

from __future__ import annotations

import gzip
import multiprocessing
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.bench.memory import PeakRss, elapsed_ms
from edge_runtime.edgetpu_compat import check_graph
from edge_runtime.tflite_graph import read_graph

MB = 1024 * 1024


def latency_stats(samples_ms: list[float]) -> dict[str, float]:
    a = np.asarray(samples_ms, float)
    return {
        "count": int(a.size),
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
        "min": float(a.min()),
        "p50": float(np.percentile(a, 50)),
        "p90": float(np.percentile(a, 90)),
        "p99": float(np.percentile(a, 99)),
        "max": float(a.max()),
    }


def gzip_bytes(data: bytes) -> int:
    """Size after gzip -9, the download-size figure the size targets use (mtime 0, so the
    same file always gives the same number)."""
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def static_facts(path: Path) -> dict[str, Any]:
    """Size, gzip size, parameters, sparsity, MACs, ops, Edge TPU verdict: from the file."""
    data = path.read_bytes()
    graph = read_graph(path, data)
    compat = check_graph(graph)
    zero = graph.zero_weight_fraction
    inp = graph.tensors[graph.inputs[0]]
    out = graph.tensors[graph.outputs[0]]
    return {
        "path": str(path),
        "name": path.stem,
        "size_bytes": len(data),
        "gzip_bytes": gzip_bytes(data),
        "params": graph.params,
        "zero_weight_fraction": zero,
        "macs": graph.macs,
        "ops": graph.op_histogram,
        "input": f"{inp.type_name.lower()}{list(inp.shape)}",
        "output": f"{out.type_name.lower()}{list(out.shape)}",
        "edgetpu": {"compatible": compat.compatible, "verdict": compat.verdict()},
    }


def measure(
    path: Path,
    *,
    threads: int | None,
    runs: int,
    warmup: int,
    delegate: str = "cpu",
    images: list[Path] | None = None,
    pipeline_runs: int = 30,
) -> dict[str, Any]:
    """Init, first invoke, warm-up, invoke distribution, memory and (with images) the
    whole pipeline's stage split. Runs in the calling process."""
    from edge_runtime.options import ModelOptions
    from edge_runtime.pipeline import SEGMENT_ONLY, Pipeline
    from edge_runtime.system_info import rss_bytes

    rss_before = rss_bytes()
    with PeakRss() as peak:
        t0 = time.perf_counter()
        pipe = Pipeline.open(path, ModelOptions(threads=threads, delegate=delegate))
        init_ms = elapsed_ms(t0)
        rss_loaded = rss_bytes()
        first_ms = pipe.engine.invoke_blank()
        warm = [pipe.engine.invoke_blank() for _ in range(warmup)]
        invoke = [pipe.engine.invoke_blank() for _ in range(runs)]
        stages: dict[str, list[float]] = {}
        if images:
            blobs = [p.read_bytes() for p in images]
            for i in range(pipeline_runs):
                seg = pipe.segment(blobs[i % len(blobs)], keep_pixels=SEGMENT_ONLY)
                timings = pipe.encode(seg, "mask").segmentation.timings.as_dict()
                for stage, ms in timings.items():
                    stages.setdefault(stage, []).append(ms)
    inv = latency_stats(invoke)
    result: dict[str, Any] = {
        "threads": threads,
        "delegate": pipe.engine.delegate.kind,
        "init_ms": init_ms,
        "first_invoke_ms": first_ms,
        "warmup_mean_ms": statistics.fmean(warm) if warm else None,
        "invoke_ms": inv,
        "throughput_fps": 1000.0 / inv["mean"],
        "memory": {
            "rss_before_load_mb": rss_before / MB,
            "rss_after_load_mb": rss_loaded / MB,
            "peak_rss_mb": peak.bytes / MB,
        },
        "pipeline": None,
    }
    if stages:
        med = {stage: statistics.median(v) for stage, v in stages.items()}
        result["pipeline"] = {
            "runs": pipeline_runs,
            "images": len(images or []),
            "stages_ms": med,
            "total_over_invoke": med["total"] / med["invoke"] if med["invoke"] else None,
        }
    pipe.close()
    return result


def _child(conn: Any, kwargs: dict[str, Any]) -> None:
    try:
        conn.send(("ok", measure(**kwargs)))
    except Exception as exc:  # reported by the parent as this model's error
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def measure_isolated(**kwargs: Any) -> dict[str, Any]:
    """``measure`` in a fresh spawned process, so memory figures belong to this model
    alone; raises ``RuntimeError`` with the child's message on failure."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, kwargs))
    proc.start()
    child.close()
    try:
        status, payload = parent.recv()
    except EOFError as exc:
        raise RuntimeError(f"benchmark process died (exit code {proc.exitcode})") from exc
    finally:
        proc.join()
    if status != "ok":
        raise RuntimeError(payload)
    return dict(payload)
