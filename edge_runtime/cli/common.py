"""Options shared by every command that loads a model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge_runtime.bundle import parse_channels
from edge_runtime.pipeline import Pipeline


def _channels(what: str):  # type: ignore[no-untyped-def]
    def parse(text: str) -> tuple[float, float, float]:
        try:
            return parse_channels(text, what)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return parse


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_model_args(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """``defaults=False`` leaves unset options at None, so a config file can supply them."""
    g = parser.add_argument_group("model")
    g.add_argument(
        "--model",
        type=Path,
        help="a .tflite (with or without its .json manifest); "
        "default: $EDGE_RUNTIME_MODEL, else the shipped default model",
    )
    g.add_argument("--labels", type=Path, help="labels file, one per line (bare .tflite only)")
    g.add_argument(
        "--mean",
        type=_channels("--mean"),
        help="input mean on 0..255, one value or R,G,B (overrides the manifest)",
    )
    g.add_argument(
        "--std",
        type=_channels("--std"),
        help="input std on 0..255, one value or R,G,B (overrides the manifest)",
    )
    g.add_argument(
        "--resize",
        choices=["stretch", "letterbox"],
        help="how images are fitted to the input (overrides the manifest)",
    )
    g.add_argument(
        "--threads",
        type=_positive_int,
        help="CPU threads for the interpreter (default: the cores this process may use)",
    )
    g.add_argument(
        "--delegate",
        choices=["auto", "cpu", "edgetpu"],
        # serve: None, so YAML and EDGE_RUNTIME_DELEGATE are not overridden by a default
        default="auto" if defaults else None,
        help="auto: the Edge TPU when the model is compiled for it (default)",
    )
    g.add_argument("--edgetpu-device", help="usb, pci, usb:0, pci:1 ... (default: first found)")
    g.add_argument(
        "--cpu-fallback", type=Path, help="CPU .tflite to run when the Edge TPU cannot be used"
    )


def open_pipeline(args: argparse.Namespace) -> Pipeline:
    pipe = Pipeline.from_options(args)
    if pipe.engine.delegate.fell_back:
        print(f"edge-runtime: warning: {pipe.engine.delegate.describe()}", file=sys.stderr)
    return pipe


def error(prog: str, message: object) -> None:
    """One line on stderr, no traceback."""
    print(f"{prog}: error: {message}", file=sys.stderr)
