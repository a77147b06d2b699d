"""Where the shipped default model and the data live."""

from __future__ import annotations

import os
from pathlib import Path

from edge_runtime.errors import ModelError

DEFAULT_MODEL_FILE = "unet_mnv2_camvid_int8.tflite"
# Package data: an installed wheel carries the default bundle (.tflite + .json manifest).
PACKAGE_MODELS = Path(__file__).resolve().parent / "default_model"
# The repository (an editable install or a checkout): models/, samples/ and ../shared.
REPO = Path(__file__).resolve().parent.parent
REPO_MODELS = REPO / "models"
SAMPLES = REPO / "samples"
SHARED_DATA = REPO.parent / "shared" / "data"


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
    repository when it is there, else the few sample files committed in ``samples/``."""
    env = os.environ.get("EDGE_RUNTIME_DATA")
    if env:
        return Path(env)
    return SHARED_DATA if SHARED_DATA.is_dir() else SAMPLES


def describe_data(root: Path) -> str:
    """One line saying which data a run uses (tests and benchmarks print it first)."""
    kind = "the repository's samples" if root.resolve() == SAMPLES else "full data"
    return f"data: {root} ({kind})"
