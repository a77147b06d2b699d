"""How a sparsity split across layers costs a trained dense model: each split prunes a
copy once (smallest magnitudes first, no fine-tuning), then scores it on val.

    python bench/pruning_allocation.py models/configs/unet_coco.yaml runs/unet_coco_s1/best.keras

The splits are MobileNetV2's stride-32 blocks (``expanded_conv_14``-``16``: 60 % of its
conv weights), its stride-16 blocks (``7``-``13``: 33 %) and every other conv, each at its
own sparsity; the first row prunes every layer alike at the config's planned overall
sparsity, the second is the config's own ``pruning.layers``. A split that destroys less
before fine-tuning is the better start for pruning during fine-tuning. Needs the host
extra; writes bench/results/pruning-allocation-<config>.md (accuracy, not speed: the
same on any machine).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from allocation_args import parse, write_report

from edge_runtime.host.builders import load_model
from edge_runtime.host.config import LayerSparsity, PruningConfig
from edge_runtime.host.datasets import split_pairs
from edge_runtime.host.evaluation import evaluate_keras
from edge_runtime.host.weight_pruning import planned_sparsity, prune_once

STRIDE32 = "expanded_conv_1[4-6]/"
STRIDE16 = "expanded_conv_([7-9]|1[0-3])/"
# (stride-32 blocks, stride-16 blocks, the rest)
SPLITS = [(0.85, 0.293, 0.293), (0.78, 0.5, 0.0), (0.85, 0.35, 0.1), (0.9, 0.25, 0.1)]


def split(stride32: float, stride16: float, rest: float) -> PruningConfig:
    return PruningConfig(
        final_sparsity=rest,
        layers=(
            LayerSparsity(match=STRIDE32, final_sparsity=stride32),
            LayerSparsity(match=STRIDE16, final_sparsity=stride16),
        ),
    )


def main() -> None:
    args, cfg, label = parse("pruning_allocation", __doc__)
    pairs = split_pairs(cfg.data, "val")
    overall = planned_sparsity(load_model(args.dense), cfg)
    candidates = {
        f"every layer at {overall:.1%}": PruningConfig(final_sparsity=overall),
        "the config's pruning.layers": cfg.pruning,
        **{f"{a:.0%} / {b:.0%} / {c:.0%}": split(a, b, c) for a, b, c in SPLITS},
    }
    index = cfg.data.labels.index(label)
    lines = [
        f"# Pruning allocation — {cfg.name}",
        "",
        f"Dense model `{args.dense}`, pruned once per row (no fine-tuning), scored on val "
        f"({len(pairs)} images, Keras float, masks at full resolution). Split = stride-32 "
        "blocks / stride-16 blocks / every other conv. "
        f"Command: `python bench/pruning_allocation.py {args.config} {args.dense}"
        + (f" --class {args.label}`." if args.label else "`."),
        "",
        f"| split | zero conv weights | val mIoU | {label} IoU |",
        "|---|---|---|---|",
    ]
    dense = evaluate_keras(load_model(args.dense), pairs, cfg).scores()
    lines.append(f"| dense | 0.0% | {dense.mean_iou:.2%} | {dense.iou[index]:.2%} |")
    for name, pruning in candidates.items():
        model = load_model(args.dense)
        zeros = prune_once(model, pruning)
        scores = evaluate_keras(model, pairs, cfg).scores()
        lines.append(f"| {name} | {zeros:.1%} | {scores.mean_iou:.2%} | {scores.iou[index]:.2%} |")
        print(lines[-1], flush=True)
    write_report("pruning-allocation", cfg, lines)


if __name__ == "__main__":
    main()
