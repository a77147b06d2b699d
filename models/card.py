"""Print the model card's tables from the shipped manifests (numbers are never typed by hand).

    python models/card.py models/unet_camvid  > /tmp/table.md

Takes a bundle prefix (``models/unet_camvid`` → ``_float32``, ``_dynamic``, ``_int8``).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

from edge_runtime.bundle import locate_model


def main() -> None:
    for prefix in sys.argv[1:]:
        rows = []
        per_class: dict[str, dict[str, float | None]] = {}
        for variant in ("float32", "dynamic", "int8"):
            path = Path(f"{prefix}_{variant}.tflite")
            if not path.exists():
                continue
            m = locate_model(path).manifest
            assert m is not None
            data = path.read_bytes()
            val = (m.metrics or {}).get("val", {})
            rows.append(
                f"| {variant} | {len(data) / 1e6:.2f} MB | "
                f"{len(gzip.compress(data, 9, mtime=0)) / 1e6:.2f} MB | {m.params:,} | "
                f"{(m.macs or 0) / 1e9:.2f} G | {m.sparsity:.1%} | "
                f"{val.get('mean_iou', float('nan')):.4f} | "
                f"{val.get('pixel_accuracy', float('nan')):.4f} |"
            )
            per_class[variant] = val.get("per_class_iou", {})
        print(f"### {Path(prefix).name}\n")
        print("| variant | size | gzip | params | MACs | zero weights | val mIoU | pixel acc |")
        print("|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))
        if per_class:
            names = list(next(iter(per_class.values())))
            print("\n| class | " + " | ".join(per_class) + " |")
            print("|---|" + "---|" * len(per_class))
            for n in names:
                cells = []
                for v in per_class.values():
                    iou = v.get(n)
                    cells.append("–" if iou is None else f"{iou:.3f}")
                print(f"| {n} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
