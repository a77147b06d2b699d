"""Options shared by every command that loads a model."""

from __future__ import annotations

import argparse
import sys
import typing
from pathlib import Path
from typing import Any

from edge_runtime.bundle import parse_channels
from edge_runtime.options import DelegateChoice, ModelOptions, ResizeChoice
from edge_runtime.pipeline import Pipeline


def _channels(what: str):  # type: ignore[no-untyped-def]
    def parse(text: str) -> tuple[float, float, float]:
        try:
            return parse_channels(text, what)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return parse


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (threads, epochs), refused in one line otherwise."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """One flag per ``ModelOptions`` field, its help from the field's description. A flag
    the user does not type is absent from the namespace (not a default), so the
    environment and a config file can still set it: see ``model_options``."""
    fields = ModelOptions.model_fields
    g = parser.add_argument_group("model")
    types: dict[str, dict[str, Any]] = {
        "model": {"type": Path},
        "labels": {"type": Path},
        "mean": {"type": _channels("--mean")},
        "std": {"type": _channels("--std")},
        "resize": {"choices": typing.get_args(ResizeChoice)},
        "threads": {"type": positive_int},
        "delegate": {"choices": typing.get_args(DelegateChoice)},
        "edgetpu_device": {},
        "cpu_fallback": {"type": Path},
    }
    assert types.keys() == fields.keys(), "a ModelOptions field without its flag"
    for name, kw in types.items():
        g.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=argparse.SUPPRESS,
            help=fields[name].description,
            **kw,
        )


def model_options(args: argparse.Namespace, config_file: Path | None = None) -> ModelOptions:
    """The typed flags over ``EDGE_RUNTIME_*`` over the config file (``ModelSettings``)."""
    from edge_runtime.settings import ModelSettings

    typed = {name: getattr(args, name) for name in ModelOptions.model_fields if hasattr(args, name)}
    return ModelSettings.load(config_file, **typed).only_model_options()


def open_pipeline(args: argparse.Namespace) -> Pipeline:
    from edge_runtime.engine import thread_advice

    options = model_options(args)
    advice = thread_advice(options.threads)
    if advice:
        print(f"edge-runtime: warning: {advice}", file=sys.stderr)
    pipe = Pipeline.open(options=options)
    if pipe.engine.delegate.fell_back:
        print(f"edge-runtime: warning: {pipe.engine.delegate.describe()}", file=sys.stderr)
    return pipe


def error(prog: str, message: object) -> None:
    """One line on stderr, no traceback."""
    print(f"{prog}: error: {message}", file=sys.stderr)
