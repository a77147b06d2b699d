"""``edge-bench``: compare models on latency, memory, size, sparsity and accuracy."""

from __future__ import annotations

import argparse
import sys
import typing
from pathlib import Path
from typing import Any

from edge_runtime.cli.common import error
from edge_runtime.errors import UsageError
from edge_runtime.options import DelegateChoice
from edge_runtime.pipeline import FORMATS


def _threads(text: str) -> list[int | None]:
    try:
        values = [int(v) for v in text.split(",") if v]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected thread counts like 1,2,4: {text!r}") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"thread counts must be >= 1: {text!r}")
    return list(values)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edge-bench", description=__doc__)
    p.add_argument("models", nargs="*", type=Path, metavar="MODEL")
    p.add_argument("--threads", type=_threads, default=[None], help="e.g. 1,2,4")
    p.add_argument("--runs", type=int, default=100, help="timed invokes (default 100)")
    p.add_argument("--warmup", type=int, default=10, help="warm-up invokes (default 10)")
    p.add_argument("--images", type=Path, help="real images for the whole-pipeline timings")
    p.add_argument(
        "--masks",
        type=Path,
        help="masks for accuracy (default: IMAGESannot/ or masks/ beside --images when present)",
    )
    p.add_argument(
        "--delegate",
        choices=typing.get_args(DelegateChoice),
        default="auto",
        help="auto (the default everywhere): the Edge TPU when a model is compiled for it",
    )
    p.add_argument("--format", choices=["table", "markdown", "json"], default="table")
    p.add_argument("--out", type=Path, help="write report.json, report.md (and plots) here")
    p.add_argument("--plot", action="store_true", help="PNG charts into --out")
    p.add_argument("--no-accuracy", action="store_true", help="skip mIoU even with masks")
    h = p.add_argument_group("HTTP mode (drive a running daemon instead of loading models)")
    h.add_argument("--url", help="e.g. http://127.0.0.1:8080")
    h.add_argument("--concurrency", type=_threads, default=[1, 2, 4, 8], help="e.g. 1,2,4,8")
    h.add_argument("--duration", type=float, default=10.0, help="seconds per concurrency level")
    h.add_argument("--token", help="bearer token, when the daemon requires one")
    h.add_argument(
        "--response",
        choices=FORMATS,
        default="mask",
        help="what to ask for (default mask: a 640x480 JPEG → PNG mask)",
    )
    return p


def run_http(args: argparse.Namespace) -> dict[str, Any]:
    from edge_runtime.bench.http_bench import bench_http
    from edge_runtime.folders import list_images
    from edge_runtime.system_info import machine_info

    if not args.images:
        raise UsageError("HTTP mode needs --images DIR (images to upload)")
    if not args.images.is_dir():
        raise UsageError(f"--images {args.images}: no such folder")
    images = list_images(args.images)
    levels = bench_http(
        args.url,
        images[:20],
        concurrency=args.concurrency,
        duration_s=args.duration,
        token=args.token,
        fmt=args.response,
    )
    return {
        "schema": "edge-bench-http/1",
        "machine": machine_info(),
        "url": args.url,
        "images": str(args.images),
        "response": args.response,
        "levels": levels,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from rich.progress import Progress

    from edge_runtime.bench.model_bench import measure_isolated, static_facts
    from edge_runtime.bundle import locate_model
    from edge_runtime.evaluate import evaluate
    from edge_runtime.folders import image_mask_pairs, list_images, sibling_mask_folder
    from edge_runtime.options import ModelOptions
    from edge_runtime.pipeline import Pipeline
    from edge_runtime.system_info import machine_info

    images: list[Path] = []
    masks = args.masks
    if args.images:
        if not args.images.is_dir():
            raise UsageError(f"image folder not found: {args.images}")
        images = list_images(args.images)
        masks = masks or sibling_mask_folder(args.images)
    report: dict[str, Any] = {
        "schema": "edge-bench/1",
        "machine": machine_info(),
        "settings": {
            "runs": args.runs,
            "warmup": args.warmup,
            "threads": args.threads,
            "delegate": args.delegate,
            "images": str(args.images or "") or None,
            "masks": str(masks) if masks else None,
        },
        "models": [],
    }
    # The masks are one data set: the first model with labels names it, and a model with
    # other labels (e.g. COCO's among CamVid's) is not scored on them.
    reference: tuple[str, list[str]] | None = None
    with Progress(transient=True) as progress:
        task = progress.add_task("benchmarking", total=len(args.models) * len(args.threads))
        for path in args.models:
            found = locate_model(path)
            labels = list(found.manifest.labels) if found.manifest else None
            if labels and reference is None:
                reference = (found.path.stem, labels)
            entry: dict[str, Any] = {**static_facts(found.path), "runs": [], "accuracy": None}
            # What the export measured (x86-64, the full val split): a board's own mIoU on
            # the same frames is compared with it, since Arm INT8 kernels may round otherwise.
            val = ((found.manifest.metrics or {}) if found.manifest else {}).get("val")
            if val and "mean_iou" in val:
                entry["manifest_val"] = {
                    "mean_iou": val["mean_iou"],
                    "images": val.get("images"),
                    "split": val.get("split"),
                    # a train + val refit: a training score, not a held-out one
                    "seen_in_training": bool(val.get("seen_in_training")),
                }
            honest, refit = found.manifest.honest_val() if found.manifest else ({}, False)
            if refit and "mean_iou" in honest:
                entry["manifest_train_only"] = {
                    "mean_iou": honest["mean_iou"],
                    "run": honest.get("run"),
                }
            report["models"].append(entry)
            try:
                for threads in args.threads:
                    progress.update(task, description=f"{found.path.name} × {threads or 'def'}")
                    entry["runs"].append(
                        measure_isolated(
                            path=found.path,
                            threads=threads,
                            runs=args.runs,
                            warmup=args.warmup,
                            delegate=args.delegate,
                            images=images[:10] or None,
                        )
                    )
                    progress.advance(task)
                skipped = _other_data_set(labels, reference)
                if masks and images and not args.no_accuracy and skipped:
                    entry["accuracy_skipped"] = skipped
                elif masks and images and not args.no_accuracy:
                    progress.update(task, description=f"{found.path.name}: accuracy")
                    pairs = image_mask_pairs(args.images, masks)
                    scores = evaluate(
                        Pipeline.open(found.path, ModelOptions(delegate=args.delegate)), pairs
                    )
                    entry["accuracy"] = {"images": len(pairs), **scores.as_dict()}
            except RuntimeError as exc:
                entry["error"] = str(exc)
    return report


def _other_data_set(labels: list[str] | None, reference: tuple[str, list[str]] | None) -> str:
    """Why a model is not scored on the masks (its labels are not the reference model's),
    or "" when it is."""
    if not labels or reference is None or labels == reference[1]:
        return ""
    name, ref = reference
    return (
        f"not scored on these masks: its {len(labels)} labels are not "
        f"{name}'s {len(ref)} (another data set)"
    )


def main(argv: list[str] | None = None) -> int:
    from edge_runtime.bench.report import (
        PLOT_HINT,
        plot,
        plot_available,
        print_table,
        to_json,
        to_markdown,
    )
    from edge_runtime.errors import EdgeRuntimeError

    args = build_parser().parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        error("edge-bench", "--runs must be >= 1 and --warmup >= 0")
        return 2
    if args.plot and not args.out:
        error("edge-bench", "--plot needs --out DIR")
        return 2
    if args.plot and not plot_available():  # say so before a run of minutes, not after
        error("edge-bench", PLOT_HINT)
        return 2
    if args.url:
        return _main_http(args)
    if not args.models:
        error("edge-bench", "give MODEL paths, or --url for HTTP mode")
        return 2
    try:
        report = run(args)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "report.json").write_text(to_json(report))
            (args.out / "report.md").write_text(to_markdown(report))
            if args.plot:
                plot(report, args.out)
    except EdgeRuntimeError as exc:  # anything else is a bug: traceback, exit 1
        error("edge-bench", exc)
        return 2
    if args.format == "json":
        sys.stdout.write(to_json(report))
    elif args.format == "markdown":
        sys.stdout.write(to_markdown(report))
    else:
        print_table(report)
    return 1 if any(m.get("error") for m in report["models"]) else 0


def _main_http(args: argparse.Namespace) -> int:
    import httpx

    from edge_runtime.bench.report import http_markdown, print_http, to_json
    from edge_runtime.errors import EdgeRuntimeError

    try:
        report = run_http(args)
    except (EdgeRuntimeError, httpx.HTTPError) as exc:
        error("edge-bench", exc)
        return 2
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "http.json").write_text(to_json(report))
        (args.out / "http.md").write_text(http_markdown(report))
    if args.format == "json":
        sys.stdout.write(to_json(report))
    elif args.format == "markdown":
        sys.stdout.write(http_markdown(report))
    else:
        print_http(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
