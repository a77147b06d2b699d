"""Import TensorFlow with Keras 2 (tf-keras), which tensorflow-model-optimization needs."""

from __future__ import annotations

import os

# Must be set before TensorFlow is first imported anywhere in the process.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

try:
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras
except ImportError as exc:  # pragma: no cover - depends on the install
    raise SystemExit(
        "the host companion needs the 'host' extra: pip install -e '.[host]' in the "
        f"repository ({exc})"
    ) from exc

__all__ = ["keras", "tf", "tfmot"]
