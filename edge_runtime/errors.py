"""User-facing errors. Each message says what was expected and what was found.

Every problem a user can act on is an ``EdgeRuntimeError``: the CLI prints ``str(error)``
on one line and exits 2, the daemon maps the classes to HTTP statuses. Anything else is a
bug and is shown as one, with its traceback (exit 1).
"""

from __future__ import annotations


class EdgeRuntimeError(Exception):
    """Base class: a problem the user can act on (never a bug)."""


class ModelError(EdgeRuntimeError):
    """The model file or its manifest is missing, unreadable or not a segmentation model."""


class ManifestError(ModelError):
    """The manifest is invalid or does not match its .tflite."""


class EdgeTpuError(ModelError):
    """The Edge TPU cannot be used; ``reason`` is one of the class's reason constants."""

    NOT_INSTALLED = "libedgetpu_not_installed"
    NO_DEVICE = "no_edgetpu_device"
    NOT_COMPILED = "model_not_compiled_for_edgetpu"
    NEEDS_EDGETPU = "model_needs_edgetpu"

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class SettingsError(EdgeRuntimeError):
    """Bad configuration; the message names the setting and where it came from."""


class SourceError(EdgeRuntimeError):
    """A frame source failed (unplugged, EOF without looping, RTSP drop, missing library)."""


class UsageError(EdgeRuntimeError):
    """A command used with arguments or data that cannot work (e.g. no image/mask pairs)."""


class MissingDependencyError(EdgeRuntimeError, ImportError):
    """An optional package is not installed; the message says which extra brings it."""


class ImageError(EdgeRuntimeError):
    """Base for bad images."""


class UnsupportedImageError(ImageError):
    """Not an image, or a format outside the allow-list (HTTP 415)."""


class CorruptImageError(ImageError):
    """An image whose header parsed but whose data did not decode (HTTP 400)."""


class ImageTooLargeError(ImageError):
    """More pixels than the configured limit (HTTP 413)."""
