"""Keras → .tflite conversion (float32, dynamic-range, full-integer INT8) and bundles."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edge_runtime.bundle import Manifest, sha256_file
from edge_runtime.host.tf_compat import keras, tf

Quantization = Literal["float32", "dynamic", "int8"]
IoType = Literal["float32", "uint8", "int8"]
_TF_TYPES = {"float32": None, "uint8": "uint8", "int8": "int8"}


def with_batch_one(model: keras.Model) -> keras.Model:
    """The same layers and weights behind a ``batch_size=1`` input, so the converted graph
    has static shapes (no Shape/Pack/StridedSlice from a dynamic batch)."""
    if model.inputs[0].shape[0] == 1:
        return model
    inputs = keras.Input(
        model.inputs[0].shape[1:], batch_size=1, name=model.inputs[0].name.split(":")[0]
    )
    return keras.Model(inputs, model(inputs), name=model.name)


def convert(
    model: keras.Model,
    quantization: Quantization = "int8",
    *,
    io_type: IoType = "uint8",
    representative: Callable[[], Iterable[list[np.ndarray]]] | None = None,
) -> bytes:
    """Convert a Keras model to a .tflite flatbuffer.

    ``int8``: full-integer (weights and activations; ``representative`` must yield
    ``[input]`` float32 batches of 1 as the model expects them), with ``io_type`` I/O.
    ``dynamic``: int8 weights, float I/O. ``float32``: no quantization.
    Raises ``ValueError`` when ``int8`` has no representative dataset.
    """
    converter = tf.lite.TFLiteConverter.from_keras_model(with_batch_one(model))
    if quantization in ("dynamic", "int8"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "int8":
        if representative is None:
            raise ValueError("full-integer INT8 needs a representative dataset")
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if io_type != "float32":
            converter.inference_input_type = getattr(tf, io_type)
            converter.inference_output_type = getattr(tf, io_type)
    return bytes(converter.convert())


def write_bundle(tflite: bytes, path: Path, **manifest: Any) -> Manifest:
    """Write ``path`` (.tflite) and its manifest ``path.with_suffix('.json')``; the
    sha256 is computed here. Other manifest fields are validated by ``Manifest``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tflite.part")
    tmp.write_bytes(tflite)
    tmp.replace(path)
    doc = Manifest.model_validate({**manifest, "sha256": sha256_file(path)})
    path.with_suffix(".json").write_text(
        json.dumps(doc.model_dump(mode="json", exclude_none=True), indent=2) + "\n"
    )
    return doc
