"""Pixels → input tensor: resize (stretch or letterbox) then a 256-entry lookup table per
channel that does normalization and quantization in one step, written in place."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from edge_runtime.bundle import InputSpec
from edge_runtime.engine import TensorInfo


@dataclass(frozen=True)
class Placement:
    """Where the resized image sits inside the model input (letterbox leaves borders)."""

    input_size: tuple[int, int]  # (width, height) of the input tensor
    box: tuple[int, int, int, int]  # (left, top, right, bottom) of the content

    @property
    def content_size(self) -> tuple[int, int]:
        return self.box[2] - self.box[0], self.box[3] - self.box[1]

    @property
    def full(self) -> bool:
        return self.box == (0, 0, *self.input_size)


def place(image_size: tuple[int, int], spec: InputSpec) -> Placement:
    """Stretch fills the input; letterbox keeps the aspect ratio and centres the image."""
    iw, ih = spec.width, spec.height
    if spec.resize == "stretch":
        return Placement((iw, ih), (0, 0, iw, ih))
    w, h = image_size
    scale = min(iw / w, ih / h)
    cw, ch = max(1, min(iw, round(w * scale))), max(1, min(ih, round(h * scale)))
    left, top = (iw - cw) // 2, (ih - ch) // 2
    return Placement((iw, ih), (left, top, left + cw, top + ch))


def resize_to(image: Image.Image, placement: Placement) -> Image.Image:
    size = placement.content_size
    if image.size == size:
        return image
    # reducing_gap lets Pillow shrink by whole factors first: same quality, much faster on
    # big camera frames.
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)


def normalized_levels(spec: InputSpec) -> np.ndarray:
    """``[256, 3]`` float64: ``(pixel - mean) / std`` for every byte and channel, the one
    place the input normalization is written (training and export use it too)."""
    pixels = np.arange(256, dtype=np.float64)[:, None]
    return (pixels - np.asarray(spec.mean)) / np.asarray(spec.std)


def build_lut(spec: InputSpec, tensor: TensorInfo) -> np.ndarray:
    """``lut[pixel, channel]`` = the input tensor's value for that byte: normalized with
    the spec's mean/std and, for integer tensors, quantized with the tensor's scale and
    zero point (rounded, saturated)."""
    x = normalized_levels(spec)
    if np.issubdtype(tensor.dtype, np.floating):
        return x.astype(tensor.dtype)
    if tensor.quantized:
        x = x / tensor.scale + tensor.zero_point
    info = np.iinfo(tensor.dtype)
    return np.clip(np.round(x), info.min, info.max).astype(tensor.dtype)


class InputWriter:
    """Writes resized RGB pixels into the (interpreter-owned) input tensor."""

    def __init__(self, spec: InputSpec, tensor: TensorInfo):
        if len(tensor.shape) != 4 or tensor.shape[0] != 1 or tensor.shape[3] != 3:
            raise ValueError(f"expected an input of shape [1,H,W,3], found {list(tensor.shape)}")
        self.lut = build_lut(spec, tensor)
        same = bool((self.lut == self.lut[:, :1]).all())
        self._shared_lut = np.ascontiguousarray(self.lut[:, 0]) if same else None
        self._channel_luts = [np.ascontiguousarray(self.lut[:, c]) for c in range(3)]
        self._identity = (
            same and tensor.dtype == np.uint8 and bool((self.lut[:, 0] == np.arange(256)).all())
        )
        # Letterbox borders are what black pixels become (what pycoral and TF do).
        self.pad = self.lut[0]

    def write(self, view: np.ndarray, pixels: np.ndarray, placement: Placement) -> None:
        """``view``: the input tensor [1,H,W,3]; ``pixels``: HxWx3 uint8 of the content size."""
        left, top, right, bottom = placement.box
        target = view[0] if placement.full else view[0, top:bottom, left:right]
        if not placement.full:
            view[...] = self.pad
        if self._identity:
            np.copyto(target, pixels)
        elif self._shared_lut is not None:
            np.take(self._shared_lut, pixels, out=target, mode="clip")
        else:
            for c, lut in enumerate(self._channel_luts):
                np.take(lut, pixels[..., c], out=target[..., c], mode="clip")
