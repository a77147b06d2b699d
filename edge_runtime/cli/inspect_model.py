"""``edge-runtime inspect``: what a .tflite holds, without running it."""

from __future__ import annotations

import argparse
import json
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


WIDTH = 80  # every line but the first (the path as given) fits an 80-column terminal


def _print_scores(split: str, scores: dict[str, Any]) -> None:
    """``val: mIoU 54.72 %, pixel accuracy 82.7 % (17,155,529 pixels)`` then per-class
    IoU, a few classes a line. mIoU has two decimals, as the model card gives it."""
    head = [f"mIoU {scores['mean_iou']:.2%}"] if "mean_iou" in scores else []
    if "pixel_accuracy" in scores:
        head.append(f"pixel accuracy {scores['pixel_accuracy']:.1%}")
    print(f"  {split}: {', '.join(head)}")
    if "pixels" in scores:
        print(f"    over {scores['pixels']:,} labelled pixels")
    per_class = [f"{k} {v:.1%}" for k, v in (scores.get("per_class_iou") or {}).items()]
    _wrapped("    IoU", per_class)


def _split_label(split: str, scores: dict[str, Any]) -> str:
    """``val``, or what a train + val refit's two val scores are: its own (a training
    score) and its train-only run's (the honest one)."""
    if split == "train_only":
        return f"val, train-only run {scores.get('run', '?')}"
    if scores.get("seen_in_training"):
        return f"{split} (trained on it)"
    return split


def _wrapped(head: str, items: list[str]) -> None:
    """``items`` joined by commas, as many a line as fit, never split inside one."""
    line = head
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if line.strip() and len(line) + 1 + len(piece) > WIDTH and line != head:
            print(line)
            line = " " * len(head)
        line += ("" if line.endswith(" ") else " ") + piece
    print(line)


def run(args: argparse.Namespace) -> int:
    info = describe(args.model)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{args.model}  {info['size_bytes']:,} bytes")
    for role in ("inputs", "outputs"):
        for t in info[role]:
            q = f"  scale {t['scale'][0]:.6g} zero point {t['zero_point'][0]}" if t["scale"] else ""
            print(f"  {role[:-1]:6} {t['name']}")
            print(f"         {t['dtype']}{t['shape']}{q}")
    manifest = info["manifest"]
    # One parameter count everywhere: the trained model's (the manifest's, as /v1/models
    # gives it) when there is one; else the file's constants.
    params = manifest.get("params") if manifest else None
    print(
        f"  params {params or info['params']:,}  MACs {info['macs']:,}  kernels "
        f"{'/'.join(info['kernel_dtypes']) or '-'}"
    )
    zero = info["zero_weight_fraction"]
    print(f"  zero weights {'-' if zero is None else f'{zero:.1%}'} of conv/FC kernels")
    print(f"  Edge TPU: {info['edgetpu_verdict']}")
    _wrapped("  ops", [f"{k}×{v}" for k, v in info["ops"].items()])
    if manifest:
        m = manifest
        print(f"  manifest: {m['name']} {m['version']}, {len(m['labels'])} labels")
        print(
            f"    input {m['input']['width']}x{m['input']['height']} ({m['input']['resize']}), "
            f"output {m['output']['kind']}"
        )
        for split, scores in (m.get("metrics") or {}).items():
            _print_scores(_split_label(split, scores), scores)
    else:
        print("  manifest: none (a bare .tflite: labels and normalization from flags")
        print("    or defaults)")
    return 0
