"""Median stage timings of the shared pipeline on real images, for one model.

Usage: python bench/pipeline_stages.py MODEL IMAGE_DIR [--runs N] [--threads N] [--size 640x480]
Each image is re-encoded as a JPEG of --size first (what a camera or an upload sends),
then segmented and its mask encoded as PNG. Prints a Markdown table of medians (ms).
(edge-bench, issue #5, will report this and more; this script is the interim probe.)
"""

from __future__ import annotations

import argparse
import io
import statistics
from pathlib import Path

from PIL import Image

from edge_runtime.pipeline import Pipeline

STAGES = ("decode", "preprocess", "invoke", "postprocess", "encode", "total")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("images", type=Path)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--size", default="640x480")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    jpegs = []
    for path in sorted(args.images.iterdir())[:10]:
        with Image.open(path) as im:
            buf = io.BytesIO()
            im.convert("RGB").resize((w, h)).save(buf, "JPEG", quality=90)
            jpegs.append(buf.getvalue())
    pipe = Pipeline.open(args.model, num_threads=args.threads)
    pipe.warm_up(3)
    samples: dict[str, list[float]] = {s: [] for s in STAGES}
    for i in range(args.runs):
        seg = pipe.segment(jpegs[i % len(jpegs)])
        timings = pipe.encode(seg, "mask").segmentation.timings.as_dict()
        for stage in STAGES:
            samples[stage].append(timings[stage])
    med = {s: statistics.median(v) for s, v in samples.items()}
    print(
        f"model {args.model.name}, {args.runs} runs of a {w}x{h} JPEG -> PNG mask, "
        f"threads {args.threads or 'default'}\n"
    )
    print("| " + " | ".join(STAGES) + " | encode / invoke | total / invoke |")
    print("|" + "---|" * (len(STAGES) + 2))
    print(
        "| "
        + " | ".join(f"{med[s]:.2f}" for s in STAGES)
        + f" | {med['encode'] / med['invoke']:.3f} | {med['total'] / med['invoke']:.3f} |"
    )


if __name__ == "__main__":
    main()
