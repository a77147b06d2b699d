"""Where the shipped default model lives."""

from __future__ import annotations

import os
from pathlib import Path

from edge_runtime.errors import ModelError

DEFAULT_MODEL_FILE = "unet_camvid_int8.tflite"
# The repository's models/ folder (an editable install or a checkout).
REPO_MODELS = Path(__file__).resolve().parent.parent / "models"


def default_model() -> Path:
    """``EDGE_RUNTIME_MODEL`` if set, else the shipped ``models/unet_camvid_int8.tflite``."""
    env = os.environ.get("EDGE_RUNTIME_MODEL")
    if env:
        return Path(env)
    for folder in (REPO_MODELS, Path.cwd() / "models"):
        if (folder / DEFAULT_MODEL_FILE).is_file():
            return folder / DEFAULT_MODEL_FILE
    raise ModelError(
        f"no --model given and the default model {DEFAULT_MODEL_FILE} is not in {REPO_MODELS}; "
        "pass --model PATH or set EDGE_RUNTIME_MODEL"
    )
