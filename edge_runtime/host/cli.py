"""``edge-host``: the host companion's command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _train(args: argparse.Namespace) -> int:
    from edge_runtime.host.config import ExperimentConfig
    from edge_runtime.host.train import train

    cfg = ExperimentConfig.load(args.config)
    if args.epochs:
        cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"epochs": args.epochs})})
    out = args.out or Path("runs") / cfg.name
    best = train(cfg, out, verbose=2 if args.quiet else 1)
    print(f"best model: {best}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edge-host", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train a model from a YAML config (resumes when interrupted)")
    p.add_argument("config", type=Path)
    p.add_argument("--out", type=Path, help="run folder (default runs/NAME)")
    p.add_argument("--epochs", type=int, help="override the config's epochs")
    p.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bar")
    p.set_defaults(func=_train)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, FileNotFoundError) as exc:
        print(f"edge-host: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
