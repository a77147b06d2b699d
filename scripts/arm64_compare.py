"""Compare the label maps an arm64 run wrote with the x86 ones of the same frames (and,
with ground truth, score both): one summary line per check, exit 1 on a failed one.

    python scripts/arm64_compare.py X86_MASKS ARM_MASKS [--truth MASKS] [--label cortex-a72]
        [--min-agreement 0.985] [--max-miou-gap 0.005]

Used by scripts/arm64-check.sh; reads only PNGs (class id per pixel) and computes with
the project's own scoring, so it runs in the x86 virtual environment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from edge_runtime.scoring import ConfusionAccumulator


def _ids(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("x86", type=Path)
    p.add_argument("arm", type=Path)
    p.add_argument("--truth", type=Path, help="ground-truth masks (same stems)")
    p.add_argument("--labels", type=int, default=11, help="classes (default 11, CamVid)")
    p.add_argument("--ignore-index", type=int, default=11)
    p.add_argument("--label", default="arm64", help="what the arm64 run was (for the lines)")
    p.add_argument("--min-agreement", type=float, default=0.985)
    p.add_argument("--max-miou-gap", type=float, default=0.005)
    p.add_argument("--row", type=Path, help="append a Markdown table row for this model here")
    args = p.parse_args(argv)
    x86 = sorted(args.x86.glob("*.png"))
    if not x86:
        print(f"arm64-check: FAIL {args.label} masks: none in {args.x86}")
        return 1
    shares = []
    names = tuple(str(i) for i in range(args.labels))
    scores = {"x86": ConfusionAccumulator(names, args.ignore_index),
              "arm": ConfusionAccumulator(names, args.ignore_index)}  # fmt: skip
    for path in x86:
        arm_path = args.arm / path.name
        if not arm_path.exists():
            print(f"arm64-check: FAIL {args.label} masks: {arm_path} is missing")
            return 1
        a, b = _ids(path), _ids(arm_path)
        shares.append(float((a == b).mean()))
        if args.truth is not None:
            truth = _ids(args.truth / path.name)
            scores["x86"].add(truth, a)
            scores["arm"].add(truth, b)
    mean, worst = float(np.mean(shares)), float(np.min(shares))
    ok = worst >= args.min_agreement
    print(
        f"arm64-check: {'ok  ' if ok else 'FAIL'} {args.label} pixel agreement with x86 over "
        f"{len(shares)} frames: mean {mean:.2%}, worst {worst:.2%} (need >= "
        f"{args.min_agreement:.1%} each)"
    )
    if args.truth is not None:
        m_x86 = scores["x86"].scores().mean_iou
        m_arm = scores["arm"].scores().mean_iou
        gap_ok = abs(m_arm - m_x86) <= args.max_miou_gap
        print(
            f"arm64-check: {'ok  ' if gap_ok else 'FAIL'} {args.label} mIoU {m_arm:.2%} vs "
            f"x86 {m_x86:.2%} over {len(shares)} frames (need within "
            f"{args.max_miou_gap * 100:.1f} point)"
        )
        ok = ok and gap_ok
    if args.row is not None:
        m_x86 = scores["x86"].scores().mean_iou if args.truth else float("nan")
        m_arm = scores["arm"].scores().mean_iou if args.truth else float("nan")
        with args.row.open("a") as f:
            f.write(
                f"| {args.label} | {len(shares)} | {mean:.2%} | {worst:.2%} | "
                + (f"{m_x86:.2%} | {m_arm:.2%} |" if args.truth else "– | – |")
                + "\n"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
