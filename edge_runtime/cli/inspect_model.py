"""``edge-runtime inspect``: what a .tflite holds, without running it."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path
from typing import Any

from edge_runtime.bundle import locate_model
from edge_runtime.edgetpu_compat import check_graph
from edge_runtime.tflite_graph import read_graph


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="tensors, quantization, ops, size, sparsity, manifest")
    p.add_argument("model", type=Path, metavar="MODEL")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def describe(path: Path) -> dict[str, Any]:
    """Everything ``inspect`` reports, as a JSON-ready dict (also used by edge-bench)."""
    found = locate_model(path, verify_sha256=False)
    graph = read_graph(found.path)

    def tensor(i: int) -> dict[str, Any]:
        t = graph.tensors[i]
        return {
            "name": t.name,
            "dtype": t.type_name.lower(),
            "shape": list(t.shape),
            "shape_signature": list(t.shape_signature),
            "scale": list(t.scale),
            "zero_point": list(t.zero_point),
        }

    zero = graph.zero_weight_fraction
    compat = check_graph(graph)
    kernels = graph.kernel_tensors()
    return {
        "path": str(found.path),
        "size_bytes": found.path.stat().st_size,
        "inputs": [tensor(i) for i in graph.inputs],
        "outputs": [tensor(i) for i in graph.outputs],
        "ops": graph.op_histogram,
        "subgraphs": graph.subgraphs,
        "params": graph.params,
        "kernel_dtypes": sorted({t.type_name.lower() for t, _ in kernels}),
        "zero_weight_fraction": None if zero is None else round(zero, 6),
        "macs": graph.macs,
        "edgetpu_compiled": graph.edgetpu_compiled,
        "edgetpu_compatible": compat.compatible,
        "edgetpu_verdict": compat.verdict(),
        "manifest": found.manifest.model_dump(mode="json", exclude_none=True)
        if found.manifest
        else None,
    }


def _print_scores(split: str, scores: dict[str, Any]) -> None:
    """``val: mIoU 54.7 %, pixel accuracy 82.7 % (17,155,529 pixels)`` then per-class IoU,
    a few classes a line."""
    head = [f"mIoU {scores['mean_iou']:.1%}"] if "mean_iou" in scores else []
    if "pixel_accuracy" in scores:
        head.append(f"pixel accuracy {scores['pixel_accuracy']:.1%}")
    pixels = f" ({scores['pixels']:,} pixels)" if "pixels" in scores else ""
    print(f"  {split}: {', '.join(head)}{pixels}")
    per_class = [f"{k} {v:.1%}" for k, v in (scores.get("per_class_iou") or {}).items()]
    for i in range(0, len(per_class), 4):
        print(("    IoU " if i == 0 else "        ") + ", ".join(per_class[i : i + 4]))


def run(args: argparse.Namespace) -> int:
    info = describe(args.model)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{info['path']}  {info['size_bytes']:,} bytes")
    for role in ("inputs", "outputs"):
        for t in info[role]:
            q = f"  scale {t['scale'][0]:.6g} zero point {t['zero_point'][0]}" if t["scale"] else ""
            print(f"  {role[:-1]:6} {t['name']}: {t['dtype']}{t['shape']}{q}")
    print(
        f"  params {info['params']:,}  MACs {info['macs']:,}  kernels "
        f"{'/'.join(info['kernel_dtypes']) or '-'}"
    )
    zero = info["zero_weight_fraction"]
    print(f"  zero weights {'-' if zero is None else f'{zero:.1%}'} of conv/FC kernels")
    print(f"  Edge TPU: {info['edgetpu_verdict']}")
    ops = ", ".join(f"{k}×{v}" for k, v in info["ops"].items())
    print(textwrap.fill(ops, 100, initial_indent="  ops ", subsequent_indent="      "))
    if info["manifest"]:
        m = info["manifest"]
        print(
            f"  manifest: {m['name']} {m['version']}, {len(m['labels'])} labels, "
            f"input {m['input']['width']}x{m['input']['height']} ({m['input']['resize']}), "
            f"output {m['output']['kind']}"
        )
        for split, scores in (m.get("metrics") or {}).items():
            _print_scores(split, scores)
    else:
        print("  manifest: none (bare .tflite: labels/normalization from flags or defaults)")
    return 0
