"""Model inputs made on the host exactly as the device makes them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from edge_runtime.bundle import InputSpec
from edge_runtime.preprocess import normalized_levels, place, resize_to


def model_input(image: Image.Image, spec: InputSpec) -> np.ndarray:
    """``[H, W, 3]`` float32 for an RGB image: the device pipeline's resize, then its
    normalization (what a float32 model's input tensor receives on the device)."""
    levels = normalized_levels(spec).astype(np.float32)
    pixels = np.asarray(resize_to(image, place(image.size, spec)))
    return np.stack([levels[pixels[..., c], c] for c in range(3)], axis=-1)


def model_inputs(paths: Iterable[Path], spec: InputSpec, limit: int) -> np.ndarray:
    """``[N, H, W, 3]``: the first ``limit`` images of ``paths`` through :func:`model_input`."""
    batch = []
    for path in list(paths)[:limit]:
        with Image.open(path) as im:
            batch.append(model_input(im.convert("RGB"), spec))
    return np.stack(batch)
