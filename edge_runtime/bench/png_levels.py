"""Measure PNG encoding of a 640x480 label map at each zlib level and strategy.

Usage: python -m edge_runtime.bench.png_levels MASK.png [--repeat N]
Writes a Markdown table to stdout; the choice in edge_runtime/encode.py comes from it.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

from PIL import Image

from edge_runtime.bundle import default_palette
from edge_runtime.encode import palette_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mask", type=Path, help="a label PNG (resized to 640x480)")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    im = Image.open(args.mask).convert("L").resize((640, 480), Image.Resampling.NEAREST)
    im.putpalette(palette_bytes(default_palette(256)))
    print("| level | strategy | median ms | bytes |\n|---|---|---|---|")
    for strategy, name in ((-1, "default"), (3, "Z_RLE"), (1, "Z_FILTERED")):
        for level in (1, 3, 6, 9):
            times, size = [], 0
            for _ in range(args.repeat):
                buf = io.BytesIO()
                t0 = time.perf_counter()
                im.save(buf, "PNG", compress_level=level, compress_type=strategy)
                times.append((time.perf_counter() - t0) * 1e3)
                size = buf.tell()
            print(f"| {level} | {name} | {statistics.median(times):.2f} | {size} |")


if __name__ == "__main__":
    main()
