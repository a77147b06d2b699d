"""Import TensorFlow with Keras 2 (tf-keras), which tensorflow-model-optimization needs.

TensorFlow's C++ start-up lines (absl's pre-init warning, CUDA probing on a machine
without a GPU, oneDNN notices) go straight to file descriptor 2, past Python's logging;
they are kept out of the terminal unless ``EDGE_HOST_VERBOSE`` is set (``edge-host
--verbose``), and shown if the import itself fails.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

# Must be set before TensorFlow is first imported anywhere in the process.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Keep what native code writes to file descriptor 2 out of the terminal (shown if
    the block fails; everything with ``EDGE_HOST_VERBOSE``)."""
    if os.environ.get("EDGE_HOST_VERBOSE"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


try:
    with quiet_native_stderr():
        import tensorflow as tf
        import tensorflow_model_optimization as tfmot
        import tf_keras as keras

        tf.config.list_physical_devices()  # the CUDA probe happens here, not at import
except ImportError as exc:  # pragma: no cover - depends on the install
    raise SystemExit(
        "the host companion needs the 'host' extra: pip install -e '.[host]' in the "
        f"repository ({exc})"
    ) from exc

__all__ = ["keras", "quiet_native_stderr", "tf", "tfmot"]
