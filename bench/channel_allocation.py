"""How a channel-pruning plan costs a trained dense model: each candidate removes channels
from a copy once (``host.channel_pruning``, no fine-tuning), then scores it on val.

    python bench/channel_allocation.py models/configs/unet_mnv2_camvid_fast.yaml \
        runs/unet_mnv2_camvid_s1/best.keras --target-gmacs 0.48

Every candidate reaches the same GMACs (``target_gmacs`` scales its keep ratios): they
differ in where the channels go (every group alike, the decoder kept whole, the late or
the early blocks pruned harder) and in how a channel's importance is judged (``l2``: its
filter's norm; ``contribution``: what it hands its consumers, measured on training
images). The one that destroys less before fine-tuning is the better start. Needs the host
extra; writes bench/results/channel-allocation-<config>.md (accuracy, not speed).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from allocation_args import parse, write_report

from edge_runtime.host.builders import load_model
from edge_runtime.host.channel_pruning import model_macs, plan_channels, prune_channels
from edge_runtime.host.config import ChannelPruningConfig, GroupKeep
from edge_runtime.host.datasets import split_pairs
from edge_runtime.host.evaluation import evaluate_keras
from edge_runtime.host.inputs import model_inputs

DECODER = GroupKeep(match="^up", keep=1.0)
LATE = "expanded_conv_1[3-6]/"  # stride 32 (and the last stride-16 block's expansion)
EARLY = "^mnv2_(Conv|expanded_conv(_[1-2])?/)"  # stride 2-4: the stem and blocks 0-2


def candidates(target: float) -> dict[str, ChannelPruningConfig]:
    def c(importance: str = "contribution", *layers: GroupKeep) -> ChannelPruningConfig:
        return ChannelPruningConfig(
            enabled=True, keep=0.8, layers=layers, target_gmacs=target, importance=importance
        )

    return {
        "every group alike (contribution)": c(),
        "every group alike (l2)": c("l2"),
        "decoder whole": c("contribution", DECODER),
        "late blocks harder": c("contribution", GroupKeep(match=LATE, keep=0.4)),
        "early blocks lighter": c("contribution", GroupKeep(match=EARLY, keep=1.0)),
        "decoder whole, late harder": c("contribution", DECODER, GroupKeep(match=LATE, keep=0.4)),
    }


def main() -> None:
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--target-gmacs", type=float, default=0.48)
    args, cfg, label = parse("channel_allocation", __doc__, extra)
    pairs = split_pairs(cfg.data, "val")
    train_images = [p for p, _ in split_pairs(cfg.data, "train")]
    x = model_inputs(train_images, cfg.input.spec(), 32)
    index = cfg.data.labels.index(label)
    dense_model = load_model(args.dense)
    dense = evaluate_keras(dense_model, pairs, cfg).scores()
    lines = [
        f"# Channel allocation — {cfg.name}",
        "",
        f"Dense model `{args.dense}`, channels removed once per row (no fine-tuning) to at "
        f"most {args.target_gmacs} GMACs, scored on val ({len(pairs)} images, Keras float). "
        f"Command: `python bench/channel_allocation.py {args.config} {args.dense} "
        f"--target-gmacs {args.target_gmacs}"
        + (f" --class {args.label}`." if args.label else "`."),
        "",
        f"| plan | GMACs | parameters | val mIoU | {label} IoU |",
        "|---|---|---|---|---|",
        f"| dense | {model_macs(dense_model) / 1e9:.3f} | {dense_model.count_params():,} "
        f"| {dense.mean_iou:.2%} | {dense.iou[index]:.2%} |",
    ]
    print(lines[-1], flush=True)
    for name, plan_cfg in candidates(args.target_gmacs).items():
        model = load_model(args.dense)
        plan = plan_channels(model, plan_cfg, x)
        smaller = prune_channels(model, plan)
        scores = evaluate_keras(smaller, pairs, cfg).scores()
        lines.append(
            f"| {name} | {plan.macs_after / 1e9:.3f} | {plan.params_after:,} | "
            f"{scores.mean_iou:.2%} | {scores.iou[index]:.2%} |"
        )
        print(lines[-1], flush=True)
    write_report("channel-allocation", cfg, lines)


if __name__ == "__main__":
    main()
