"""The one place that imports the TFLite interpreter: LiteRT, else tflite-runtime."""

from __future__ import annotations

from typing import Any

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


def make_interpreter(
    model_path: str, *, num_threads: int | None = None, delegates: list[Any] | None = None
) -> Any:
    if Interpreter is None:
        raise ImportError(
            "no TFLite interpreter: pip install ai-edge-litert (or tflite-runtime on old boards)"
        )
    return Interpreter(
        model_path=model_path, num_threads=num_threads, experimental_delegates=delegates
    )


__all__ = ["RUNTIME", "Interpreter", "load_delegate", "make_interpreter", "runtime_version"]
