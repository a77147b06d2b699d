"""``edge-runtime``: the device command line."""

from __future__ import annotations

import argparse
import sys

from edge_runtime import __version__
from edge_runtime.cli import doctor, inspect_model, segment
from edge_runtime.cli.common import error
from edge_runtime.errors import EdgeRuntimeError


def _serve(args: argparse.Namespace) -> int:
    error("edge-runtime", "serve is not built yet: the daemon arrives with issue #4")
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-runtime", description=__doc__)
    parser.add_argument("--version", action="version", version=f"edge-runtime {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    segment.add_parser(sub)
    inspect_model.add_parser(sub)
    doctor.add_parser(sub)
    serve = sub.add_parser("serve", help="the daemon (not built yet: issue #4)")
    serve.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except EdgeRuntimeError as exc:
        error("edge-runtime", exc)
        return 2
    except (ImportError, ValueError) as exc:
        error("edge-runtime", exc)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
