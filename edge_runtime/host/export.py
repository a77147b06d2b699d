"""Keras → .tflite conversion (float32, dynamic-range, full-integer INT8) and bundles."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from edge_runtime.bundle import InputSpec, Manifest, locate_model, sha256_file, write_manifest
from edge_runtime.host.config import ExperimentConfig
from edge_runtime.host.inputs import model_input
from edge_runtime.host.tf_compat import keras, quiet_native_stderr, tf

Quantization = Literal["float32", "dynamic", "int8"]
IoType = Literal["float32", "uint8", "int8"]


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
    with quiet_native_stderr():  # the converter's C++ prints its settings on fd 2
        return bytes(converter.convert())


def write_bundle(tflite: bytes, path: Path, **manifest: Any) -> Manifest:
    """Write ``path`` (.tflite) and its manifest ``path.with_suffix('.json')``; the
    sha256 is computed here. Other manifest fields are validated by ``Manifest``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tflite.part")
    tmp.write_bytes(tflite)
    tmp.replace(path)
    return write_manifest({**manifest, "sha256": sha256_file(path)}, path)


def representative_inputs(
    images: Sequence[Path], spec: InputSpec, limit: int = 100
) -> Callable[[], Iterator[list[np.ndarray]]]:
    """Calibration batches made exactly as the device makes its input: the pipeline's
    resize, then its normalization, in float32."""

    def batches() -> Iterator[list[np.ndarray]]:
        for path in list(images)[:limit]:
            with Image.open(path) as im:
                yield [model_input(im.convert("RGB"), spec)[None]]

    return batches


VARIANTS: dict[str, tuple[Quantization, IoType]] = {
    "float32": ("float32", "float32"),
    "dynamic": ("dynamic", "float32"),
    "int8": ("int8", "uint8"),
}


PRETRAINED_NOTICE = (
    "contains weights derived from google-coral/edgetpu's mobilenet_v2_1.0_224_quant.tflite "
    "(Copyright Google LLC, Apache License 2.0)"
)


def model_license(cfg: ExperimentConfig) -> str:
    """The data's licence, plus the pretrained weights' notice when the model starts from
    them (Apache-2.0 asks derived works to carry it)."""
    if cfg.model.backbone == "mobilenet_v2" and cfg.model.pretrained is not None:
        return f"{cfg.data.license}; {PRETRAINED_NOTICE}"
    return cfg.data.license


def export_bundles(
    cfg: ExperimentConfig,
    model: keras.Model,
    out_dir: Path,
    *,
    variants: Sequence[str] = ("float32", "dynamic", "int8"),
    io_type: IoType = "uint8",
    calibration: int = 100,
    training: dict[str, Any] | None = None,
    evaluate_on_val: bool = True,
) -> list[Path]:
    """Write one bundle per variant (``NAME_float32``, ``NAME_dynamic``, ``NAME_int8``),
    each evaluated on the config's val split *through the device pipeline*; the scores
    go into the manifest's ``metrics``."""
    from edge_runtime.evaluate import evaluate
    from edge_runtime.host.datasets import split_pairs
    from edge_runtime.pipeline import Pipeline
    from edge_runtime.tflite_graph import read_graph

    d = cfg.data
    spec = cfg.input.spec()
    train_images = [p for p, _ in split_pairs(d, "train")]
    rep = representative_inputs(train_images, spec, calibration)
    val_pairs = split_pairs(d, "val")
    written = []
    for variant in variants:
        quant, io = VARIANTS[variant]
        if variant == "int8":
            io = io_type
        data = convert(model, quant, io_type=io, representative=rep)
        path = out_dir / f"{cfg.name}_{variant}.tflite"
        graph = read_graph(path, data)
        fields: dict[str, Any] = {
            "name": f"{cfg.name}_{variant}",
            "version": cfg.version,
            "labels": d.labels,
            "palette": d.palette,
            "ignore_index": d.ignore_index,
            "input": spec.model_dump(),
            "output": {"kind": "logits"},
            "edgetpu": False,
            "sparsity": round(graph.zero_weight_fraction or 0.0, 6),
            "params": int(model.count_params()),
            "macs": graph.macs,
            "license": model_license(cfg),
            "training": {
                "config": cfg.model_dump(mode="json"),
                "dataset": d.name,
                "quantization": variant,
                "io_type": io,
                **(training or {}),
            },
        }
        write_bundle(data, path, **fields)
        if evaluate_on_val:
            scores = evaluate(Pipeline.open(path), val_pairs)
            val: dict[str, Any] = {
                **scores.as_dict(),
                "split": str(d.val_images),
                "images": len(val_pairs),
                "evaluated_with": "device pipeline",
            }
            fields["metrics"] = {"val": val}
            if cfg.train.include_val:  # a training score now, not a held-out one
                val["seen_in_training"] = True
                train_only = train_only_metrics(cfg, out_dir, variant)
                if train_only is not None:
                    fields["metrics"]["train_only"] = train_only
            write_bundle(data, path, **fields)
        written.append(path)
    return written


def train_only_metrics(cfg: ExperimentConfig, out_dir: Path, variant: str) -> dict[str, Any] | None:
    """The val figures of the train-only run that chose a train + val refit's recipe
    (``train.selected_by``), read from its bundle of the same variant in ``out_dir``;
    None (with a note) when that bundle is not there."""
    run = cfg.train.selected_by
    if run is None:
        return None
    path = out_dir / f"{run}_{variant}.tflite"
    manifest = locate_model(path).manifest if path.exists() else None
    val = ((manifest.metrics or {}) if manifest else {}).get("val")
    if val is None:
        print(
            f"note: no val figures in {path.with_suffix('.json')} (export {run} there "
            "first): this refit's manifest has none from its train-only run",
            flush=True,
        )
        return None
    return {**val, "run": run, "trained_on": "train"}


# What a run folder keeps that a reader of the model card wants: the seed's figures, the
# per-epoch log, the selected epoch, the class weights and the exact config.
TRAINING_RECORD = ("*.png", "history.csv", "best.json", "class_weights.json", "config.yaml")


def copy_training_record(run: Path, out: Path) -> list[Path]:
    """Copy the run's plots and logs (and ``*.log``) into ``out``, next to the bundles."""
    out.mkdir(parents=True, exist_ok=True)
    copied = []
    for pattern in (*TRAINING_RECORD, "*.log"):
        for src in sorted(run.glob(pattern)):
            if src.is_file():
                copied.append(Path(shutil.copy2(src, out / src.name)))
    return copied
