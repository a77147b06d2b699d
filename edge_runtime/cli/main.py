"""``edge-runtime``: the device command line."""

from __future__ import annotations

import signal
import sys

if "serve" in sys.argv[1:3] and hasattr(signal, "SIGHUP"):
    # SIGHUP means "reload" to the daemon; until the server installs that handler (after
    # the imports and the model load below, ~0.5 s here, longer on a Pi) its default
    # action would kill the process. Set before anything slow is imported.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

import argparse

from edge_runtime import __version__
from edge_runtime.cli import doctor, inspect_model, segment, serve
from edge_runtime.cli.common import error
from edge_runtime.errors import EdgeRuntimeError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-runtime", description=__doc__)
    parser.add_argument("--version", action="version", version=f"edge-runtime {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    segment.add_parser(sub)
    inspect_model.add_parser(sub)
    doctor.add_parser(sub)
    serve.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except EdgeRuntimeError as exc:  # anything else is a bug: its traceback, exit 1
        error("edge-runtime", exc)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
