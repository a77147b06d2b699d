"""``edge-runtime segment``: segment image files into masks, overlays or JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from edge_runtime.cli.common import add_model_args, error, open_pipeline
from edge_runtime.encode import OVERLAY_ALPHA, OVERLAY_MAX_PIXELS
from edge_runtime.errors import ImageError, UsageError
from edge_runtime.folders import list_images
from edge_runtime.pipeline import FORMATS, SEGMENT_ONLY


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "segment",
        help="segment images (files or folders)",
        description="Writes DIR/<stem>.png (mask: pixel = class id, original size), "
        "DIR/<stem>.jpg (overlay) or JSON lines on stdout.",
    )
    p.add_argument(
        "images", nargs="+", type=Path, metavar="IMAGE", help="image files, or folders of them"
    )
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder (default ./out)")
    p.add_argument("--format", choices=FORMATS, default="mask")
    p.add_argument(
        "--alpha", type=float, default=OVERLAY_ALPHA, help="overlay: weight of the mask (0..1)"
    )
    add_model_args(p)
    p.set_defaults(func=run)


def expand(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from list_images(path)
        else:
            yield path


def output_names(inputs: list[Path], suffix: str) -> dict[Path, str]:
    """``<stem><suffix>`` per input; inputs sharing a stem (``x.jpg``, ``x.png``) keep
    their own extension in the name (``x_jpg.png``, ``x_png.png``) so no result overwrites
    another. Raises ``ValueError`` when names still collide (same file name in two folders).
    """
    stems: dict[str, int] = {}
    for path in inputs:
        stems[path.stem] = stems.get(path.stem, 0) + 1
    names = {
        path: (
            f"{path.stem}_{path.suffix.lstrip('.').lower()}{suffix}"
            if stems[path.stem] > 1
            else f"{path.stem}{suffix}"
        )
        for path in inputs
    }
    seen: dict[str, Path] = {}
    for path, name in names.items():
        if name in seen and seen[name] != path:
            raise UsageError(
                f"{seen[name]} and {path} would both be written to {name}: "
                "segment them into separate --out folders"
            )
        seen[name] = path
    return names


def run(args: argparse.Namespace) -> int:
    if not 0.0 <= args.alpha <= 1.0:
        error("edge-runtime", f"--alpha must be between 0 and 1, got {args.alpha}")
        return 2
    inputs = list(dict.fromkeys(expand(args.images)))
    names = output_names(inputs, ".png" if args.format == "mask" else ".jpg")
    pipe = open_pipeline(args)
    failed = done = 0
    if args.format != "json":
        args.out.mkdir(parents=True, exist_ok=True)
    for path in inputs:
        try:
            data = path.read_bytes()
        except OSError as exc:
            error("edge-runtime", f"{path}: cannot read: {exc.strerror}")
            failed += 1
            continue
        try:
            keep = OVERLAY_MAX_PIXELS if args.format == "overlay" else SEGMENT_ONLY
            seg = pipe.segment(data, keep_pixels=keep)
            encoded = pipe.encode(seg, args.format, alpha=args.alpha)
        except ImageError as exc:
            error("edge-runtime", f"{path}: {exc}")
            failed += 1
            continue
        done += 1
        if args.format == "json":
            doc = {"image": str(path), **encoded.segmentation.summary()}
            print(json.dumps(doc), flush=True)
            continue
        target = args.out / names[path]
        target.write_bytes(encoded.data)
        top = ", ".join(f"{c.name} {c.fraction:.0%}" for c in seg.classes()[:3])
        t = encoded.segmentation.timings
        # Two lines, the paths on the first: the figures fit 80 columns whatever they are.
        print(f"{path} -> {target}")
        print(f"  {top}; invoke {t.invoke_ms:.1f} ms, total {t.total_ms:.1f} ms")
    if failed:
        print(f"edge-runtime: {done} segmented, {failed} failed", file=sys.stderr)
    return 1 if failed else 0
