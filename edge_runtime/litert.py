"""The one place that imports the TFLite interpreter: LiteRT, else tflite-runtime."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from edge_runtime.errors import MissingDependencyError

try:
    from ai_edge_litert.interpreter import Interpreter, load_delegate

    RUNTIME = "ai-edge-litert"
except ImportError:  # pragma: no cover - exercised on boards with only tflite-runtime
    try:
        from tflite_runtime.interpreter import (
            Interpreter,
            load_delegate,
        )

        RUNTIME = "tflite-runtime"
    except ImportError:
        Interpreter = None
        load_delegate = None
        RUNTIME = "none"


def runtime_version() -> str | None:
    """Version of the interpreter package in use, or None when there is none."""
    from importlib import metadata

    for dist in ("ai-edge-litert", "tflite-runtime"):
        if dist == RUNTIME:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                return "unknown"
    return None


# LiteRT's C++ logger writes this to stderr in every process that builds an interpreter,
# and no setting turns it off; it tells users nothing (XNNPACK is the default CPU path).
NOISE = ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)


@contextlib.contextmanager
def quiet_native_info() -> Iterator[None]:
    """Capture the native stderr (fd 2) while an interpreter is built; pass every line on
    except the known INFO noise, so real errors and warnings still show."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # stderr replaced (pytest capture, IDEs)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if line.strip() and line.strip() not in NOISE:
                    print(line, file=sys.stderr)


def make_interpreter(
    model_path: str, *, num_threads: int | None = None, delegates: list[Any] | None = None
) -> Any:
    if Interpreter is None:
        raise MissingDependencyError(
            "no TFLite interpreter: pip install ai-edge-litert (or tflite-runtime on old boards)"
        )
    return Interpreter(
        model_path=model_path, num_threads=num_threads, experimental_delegates=delegates
    )


__all__ = [
    "RUNTIME",
    "Interpreter",
    "load_delegate",
    "make_interpreter",
    "quiet_native_info",
    "runtime_version",
]
