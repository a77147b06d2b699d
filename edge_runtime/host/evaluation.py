"""A Keras model scored as the device scores a .tflite: the same resize, normalization
and upsampling of the label map."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from edge_runtime.bundle import InputSpec
from edge_runtime.host.config import ExperimentConfig
from edge_runtime.host.inputs import model_input
from edge_runtime.host.tf_compat import keras
from edge_runtime.postprocess import to_image_size
from edge_runtime.preprocess import place
from edge_runtime.scoring import ConfusionAccumulator


def predict_logits(model: keras.Model, image: Image.Image, spec: InputSpec) -> np.ndarray:
    """Model-resolution logits (H, W, classes) of the Keras model for one RGB image, fed
    exactly what the device pipeline feeds its interpreter (same resize, same normalization)."""
    return np.asarray(model(model_input(image, spec)[None], training=False)[0])


def predict_labels(model: keras.Model, image: Image.Image, spec: InputSpec) -> np.ndarray:
    """Model-resolution argmax of :func:`predict_logits`."""
    return predict_logits(model, image, spec).argmax(axis=-1).astype(np.uint8)


def evaluate_keras(
    model: keras.Model, pairs: Sequence[tuple[Path, Path]], cfg: ExperimentConfig
) -> ConfusionAccumulator:
    """Val scores at the masks' own resolution, upsampled like the device does."""
    spec = cfg.input.spec()
    acc = ConfusionAccumulator(cfg.data.labels, cfg.data.ignore_index)
    for image_path, mask_path in pairs:
        with Image.open(image_path) as im:
            image = im.convert("RGB")
        with Image.open(mask_path) as m:
            mask = np.asarray(m)
        small = predict_labels(model, image, spec)
        full = to_image_size(small, place(image.size, spec), (mask.shape[1], mask.shape[0]))
        acc.add(mask, full)
    return acc
