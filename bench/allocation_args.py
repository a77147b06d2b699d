"""The arguments bench/pruning_allocation.py and bench/channel_allocation.py share: a
config, a trained dense model and a class to report besides the mean."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge_runtime.host.config import ExperimentConfig


def parse(
    prog: str, description: str | None, extra: argparse.ArgumentParser | None = None
) -> tuple[argparse.Namespace, ExperimentConfig, str]:
    """(arguments, the config, the class to report); exits with one line on a bad one."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, parents=[extra] if extra else []
    )
    parser.add_argument("config", type=Path)
    parser.add_argument("dense", type=Path, help="a trained dense model (.keras)")
    parser.add_argument("--class", dest="label", default=None, help="also report this class")
    args = parser.parse_args()
    cfg = ExperimentConfig.load(args.config)
    label = args.label or cfg.data.labels[min(1, len(cfg.data.labels) - 1)]
    if label not in cfg.data.labels:
        sys.exit(f"{prog}: no class {label!r} in {args.config}")
    if not args.dense.exists():
        sys.exit(f"{prog}: no model at {args.dense} (train the dense stage first)")
    return args, cfg, label


def write_report(kind: str, cfg: ExperimentConfig, lines: list[str]) -> Path:
    """``bench/results/<kind>-<config name>.md`` (accuracy, not speed: any machine's)."""
    from edge_runtime.bench.system import ROOT

    out = ROOT / "bench/results" / f"{kind}-{cfg.name}.md"
    out.write_text("\n".join(lines) + "\n")
    print(out, file=sys.stderr)
    return out
