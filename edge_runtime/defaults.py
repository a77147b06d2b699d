"""Where the shipped default model and the data live."""

from __future__ import annotations

import os
from pathlib import Path

from edge_runtime.errors import ModelError, SettingsError

DEFAULT_MODEL_FILE = "unet_mnv2_camvid_int8.tflite"
# Package data: an installed wheel carries the default bundle (.tflite + .json manifest).
PACKAGE_MODELS = Path(__file__).resolve().parent / "default_model"


def checkout() -> Path | None:
    """The repository this package runs from (a clone, an editable install), or None for
    an installed wheel: models/, samples/ and the training configs exist only there."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "models").is_dir():
        return root
    return None


_ROOT = checkout()
# Where the repository keeps them; None outside a checkout (nothing is assumed there).
SAMPLES = _ROOT / "samples" if _ROOT else None
SHARED_DATA = _ROOT.parent / "shared" / "data" if _ROOT else None


def default_model() -> Path:
    """``EDGE_RUNTIME_MODEL`` if set, else the shipped default (package data)."""
    env = os.environ.get("EDGE_RUNTIME_MODEL")
    if env:
        return Path(env)
    path = PACKAGE_MODELS / DEFAULT_MODEL_FILE
    if path.is_file():
        return path
    raise ModelError(
        f"no --model given and the default model {DEFAULT_MODEL_FILE} is not in "
        f"{PACKAGE_MODELS}; pass --model PATH or set EDGE_RUNTIME_MODEL"
    )


def data_root() -> Path:
    """Real labelled data: ``EDGE_RUNTIME_DATA``, else ``../shared/data`` beside the
    repository when it is there, else the few sample files committed in ``samples/``.

    Raises ``SettingsError`` outside a checkout with no ``EDGE_RUNTIME_DATA``."""
    env = os.environ.get("EDGE_RUNTIME_DATA")
    if env:
        return Path(env)
    if SHARED_DATA is not None and SHARED_DATA.is_dir():
        return SHARED_DATA
    if SAMPLES is not None:
        return SAMPLES
    raise SettingsError(
        "no data folder: set EDGE_RUNTIME_DATA (an installed package has no samples/)"
    )


def describe_data(root: Path) -> str:
    """One line saying which data a run uses (tests and benchmarks print it first)."""
    kind = "the repository's samples" if SAMPLES and root.resolve() == SAMPLES else "full data"
    return f"data: {root} ({kind})"
