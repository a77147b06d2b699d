"""Output tensor → label map, for every output layout, without dequantizing.

Argmax runs on the raw quantized logits (dequantization ``scale * (q - zero_point)`` is
monotonic because TFLite scales are positive, so the winner is the same); a probability
threshold of 0.5 is moved into the quantized domain once, at construction.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import Image

from edge_runtime.engine import TensorInfo
from edge_runtime.errors import ModelError
from edge_runtime.preprocess import Placement

OutputKind = Literal["logits", "class_index", "probability"]
PROBABILITY_THRESHOLD = 0.5


def spatial_shape(tensor: TensorInfo) -> tuple[int, int, int]:
    """(height, width, channels) of a segmentation output, or ``ModelError``."""
    shape = tensor.shape
    if len(shape) == 4 and shape[0] == 1 and shape[1] > 1 and shape[2] > 1:
        return shape[1], shape[2], shape[3]
    if len(shape) == 3 and shape[0] == 1 and shape[1] > 1 and shape[2] > 1:
        return shape[1], shape[2], 1
    raise ModelError(
        f"not a segmentation model: output {tensor.name!r} is {tensor.describe()}, "
        "expected [1,H,W,C] logits, [1,H,W] class ids or [1,H,W,1] probabilities"
    )


def infer_kind(tensor: TensorInfo) -> OutputKind:
    """What a bare .tflite's output holds, from its shape, dtype and quantization."""
    _, _, channels = spatial_shape(tensor)
    if np.issubdtype(tensor.dtype, np.integer) and not tensor.quantized:
        return "class_index"  # e.g. DeepLab's in-graph ArgMax (int64)
    if channels == 1:
        return "probability"
    return "logits"


def check_kind(tensor: TensorInfo, kind: OutputKind, num_labels: int) -> None:
    """``ModelError`` when the declared kind and label count do not fit the tensor."""
    _, _, channels = spatial_shape(tensor)
    if kind == "logits" and channels != num_labels:
        raise ModelError(
            f"output has {channels} channels but {num_labels} labels are given "
            f"(output {tensor.describe()})"
        )
    if kind == "logits" and channels < 2:
        raise ModelError(f"logits need at least 2 channels, output is {tensor.describe()}")
    if kind in ("class_index", "probability") and channels != 1:
        raise ModelError(f"a {kind} output has 1 channel, output is {tensor.describe()}")
    if kind == "class_index" and not np.issubdtype(tensor.dtype, np.integer):
        raise ModelError(f"a class_index output holds integers, output is {tensor.describe()}")


class OutputReader:
    """Turns the output view into a uint8 label map at the output's resolution.

    Scratch buffers are allocated once; the returned map is a fresh (small) array
    because the caller keeps it after the engine's lock is released.
    """

    def __init__(self, tensor: TensorInfo, kind: OutputKind):
        self.kind = kind
        self.height, self.width, self.channels = spatial_shape(tensor)
        self._argmax = np.empty((self.height, self.width), np.intp)
        self._threshold: float | int = PROBABILITY_THRESHOLD
        if kind == "probability" and tensor.quantized:
            # q > t  <=>  scale * (q - zp) > 0.5
            self._threshold = PROBABILITY_THRESHOLD / tensor.scale + tensor.zero_point

    def __call__(self, view: np.ndarray) -> np.ndarray:
        plane = view.reshape(self.height, self.width, self.channels)
        if self.kind == "logits":
            np.argmax(plane, axis=-1, out=self._argmax)
            return self._argmax.astype(np.uint8)
        if self.kind == "probability":
            return (plane[..., 0] > self._threshold).astype(np.uint8)
        ids = plane[..., 0]
        return ids.astype(np.uint8) if ids.dtype != np.uint8 else ids.copy()


def to_image_size(labels: np.ndarray, placement: Placement, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of the label map to ``size`` (width, height), cropping the
    letterbox borders first (scaled to the output's resolution).

    Index arithmetic is exact (integers), not Pillow's float resampler: Pillow picks the
    pixel below at exact half-way points (e.g. 480 → 128 columns), which would put the
    mask one pixel off the plain-numpy reference on 0.5 % of pixels.
    """
    rows, cols = _sample_indices(labels.shape, placement, size)
    # Columns first, then rows: the result is C-ordered, so the palette image can share
    # it (labels[rows][:, cols] comes out Fortran-ordered and would be copied: +40 MB
    # at 40 MP).
    return labels[:, cols][rows]


def as_palette_image(labels: np.ndarray, palette: bytes) -> Image.Image:
    """A 'P' image that shares the label map's memory (no frame-sized copy: 40 MB at
    40 MP)."""
    height, width = labels.shape
    buffer = np.ascontiguousarray(labels)
    im = Image.frombuffer("P", (width, height), buffer, "raw", "P", 0, 1)
    if buffer.flags.writeable:
        # frombuffer marks the image read-only, so putpalette would copy every pixel
        # first; only the palette is written, and the array is ours.
        im.readonly = 0
    im.putpalette(palette)
    return im


@lru_cache(maxsize=8)
def _sample_indices(
    out_shape: tuple[int, ...], placement: Placement, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    out_h, out_w = out_shape
    iw, ih = placement.input_size
    left, top, right, bottom = placement.box
    width, height = size

    def axis(n: int, start: int, extent: int, out_n: int, in_n: int) -> np.ndarray:
        # source = (start + (i + 0.5) * extent / n) * out_n / in_n, floored, in integers
        i = np.arange(n, dtype=np.int64)
        src = ((2 * start * n + (2 * i + 1) * extent) * out_n) // (2 * n * in_n)
        return np.minimum(src, out_n - 1).astype(np.intp)

    return (axis(height, top, bottom - top, out_h, ih), axis(width, left, right - left, out_w, iw))
