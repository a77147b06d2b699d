"""Print the model card's tables from the shipped manifests (numbers are never typed by hand).

    python models/card.py models/unet_camvid  > /tmp/table.md
    python models/card.py --summary models/unet_camvid models/fcn32s_camvid

Takes bundle prefixes (``models/unet_camvid`` → ``_float32``, ``_dynamic``, ``_int8``).
``--summary``: one row per model, float32 vs INT8 side by side.
"""

from __future__ import annotations

import sys
from pathlib import Path

from edge_runtime.bench.model_bench import gzip_bytes
from edge_runtime.bundle import Manifest, locate_model
from edge_runtime.defaults import PACKAGE_MODELS


def bundle(prefix: str, variant: str) -> Path:
    """``PREFIX_VARIANT.tflite``, or the shipped default's copy in the package."""
    path = Path(f"{prefix}_{variant}.tflite")
    packaged = PACKAGE_MODELS / path.name
    return packaged if not path.exists() and packaged.exists() else path


def honest_val(m: Manifest) -> tuple[float, str]:
    """The val mIoU to report, marked † when it is a train + val refit's train-only run's."""
    scores, refit = m.honest_val()
    return float(scores["mean_iou"]), "†" if refit else ""


def summary(prefixes: list[str]) -> None:
    print(
        "| model | params | GMACs | zero weights | float32 | INT8 | gzip INT8 | gzip INT8 ÷ "
        "float32 | val mIoU float32 | val mIoU INT8 | INT8 − float32 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    refits = False
    for prefix in prefixes:
        f32, i8 = bundle(prefix, "float32"), bundle(prefix, "int8")
        mi = locate_model(i8).manifest
        assert mi is not None
        b, mark = honest_val(mi)
        refits = refits or bool(mark)
        gz = gzip_bytes(i8.read_bytes())
        # an INT8-only model (its float32 file not kept in models/): "–" for the float columns
        mf = locate_model(f32).manifest if f32.exists() else None
        a = honest_val(mf)[0] if mf is not None else None
        f32_cells = (
            (
                f"{f32.stat().st_size / 1e6:.2f} MB",
                f"{gz / f32.stat().st_size:.3f}",
                f"{a:.4f}{mark}",
                f"{(b - a) * 100:+.2f} pt",
            )
            if a is not None
            else ("–", "–", "–", "–")
        )
        print(
            f"| {Path(prefix).name} | {mi.params:,} | {(mi.macs or 0) / 1e9:.2f} | "
            f"{mi.sparsity:.1%} | {f32_cells[0]} | "
            f"{i8.stat().st_size / 1e6:.2f} MB | {gz / 1e6:.2f} MB | "
            f"{f32_cells[1]} | {f32_cells[2]} | {b:.4f}{mark} | {f32_cells[3]} |"
        )
    if refits:
        print(
            "\n† trained on train + val: the val figures of the train-only run that chose its "
            "recipe (its own val score is a training score)."
        )


def main() -> None:
    if sys.argv[1:2] == ["--summary"]:
        summary(sys.argv[2:])
        return
    for prefix in sys.argv[1:]:
        rows = []
        per_class: dict[str, dict[str, float | None]] = {}
        for variant in ("float32", "dynamic", "int8"):
            path = bundle(prefix, variant)
            if not path.exists():
                continue
            m = locate_model(path).manifest
            assert m is not None
            data = path.read_bytes()
            val = (m.metrics or {}).get("val", {})
            rows.append(
                f"| {variant} | {len(data) / 1e6:.2f} MB | "
                f"{gzip_bytes(data) / 1e6:.2f} MB | {m.params:,} | "
                f"{(m.macs or 0) / 1e9:.2f} G | {m.sparsity:.1%} | "
                f"{val.get('mean_iou', float('nan')):.4f} | "
                f"{val.get('pixel_accuracy', float('nan')):.4f} |"
            )
            per_class[variant] = val.get("per_class_iou", {})
            train_only, refit = m.honest_val()
            if refit:
                rows[-1] = rows[-1].replace(f"| {variant} |", f"| {variant}, trained on val |")
                rows.append(
                    f"| {variant}, train-only run ({train_only['run']}) | | | | | | "
                    f"{train_only['mean_iou']:.4f} | {train_only['pixel_accuracy']:.4f} |"
                )
                per_class[f"{variant} ({train_only['run']})"] = train_only.get("per_class_iou", {})
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
