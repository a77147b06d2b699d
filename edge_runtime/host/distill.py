"""Knowledge distillation: a trained teacher's logits, cached once, taught to a student.

Running the teacher every step would triple an epoch on two cores; its logits on the
un-augmented training images are computed once (float16, one raw file per image) and
resized, cropped and flipped with the image by the data pipeline (``datasets``). The
student learns ``(1 - weight) * CE + weight * T^2 * KL(teacher_T || student_T)`` per pixel
(Hinton et al. 2015, pixel-wise as in Liu et al. 2019, "Structured Knowledge
Distillation for Semantic Segmentation").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from edge_runtime.bundle import InputSpec
from edge_runtime.host.config import ExperimentConfig
from edge_runtime.host.tf_compat import keras, tf


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def teacher_logits(
    cfg: ExperimentConfig, images: Sequence[Path], *, progress: bool = False
) -> tuple[list[Path], tuple[int, int, int]]:
    """One cached logits file per image (``[H, W, classes]`` float16, the teacher's output
    resolution) and that shape. The cache folder is named after the teacher file's hash:
    a retrained teacher gets a new one, an interrupted run resumes where it stopped.

    The teacher sees each image as the device would show it to a model of the teacher's
    input size, normalized like the student (same ``input.mean``/``std``).
    """
    from edge_runtime.host.builders import load_model
    from edge_runtime.host.evaluation import predict_logits

    d = cfg.distillation
    assert d.teacher is not None
    if not d.teacher.is_file():
        raise FileNotFoundError(
            f"distillation.teacher: no model at {d.teacher} (train the teacher's config first)"
        )
    folder = d.cache_dir / _digest(d.teacher)
    folder.mkdir(parents=True, exist_ok=True)
    meta_path = folder / "teacher.json"
    teacher = None
    shape: tuple[int, int, int] | None = None
    if meta_path.exists():
        h, w, c = json.loads(meta_path.read_text())["shape"]
        shape = (int(h), int(w), int(c))
    paths = []
    for i, image_path in enumerate(images):
        out = folder / f"{image_path.stem}.f16"
        paths.append(out)
        if out.exists() and shape is not None:
            continue
        if teacher is None:
            teacher = load_model(d.teacher)
            _, h, w, _ = teacher.inputs[0].shape
            spec = InputSpec(width=w, height=h, mean=cfg.input.mean, std=cfg.input.std)
        with Image.open(image_path) as im:
            logits = predict_logits(teacher, im.convert("RGB"), spec).astype(np.float16)
        if logits.shape[-1] != len(cfg.data.labels):
            raise ValueError(
                f"distillation.teacher has {logits.shape[-1]} classes, the data "
                f"{len(cfg.data.labels)}"
            )
        if shape is None:
            shape = (int(logits.shape[0]), int(logits.shape[1]), int(logits.shape[2]))
            meta_path.write_text(json.dumps({"teacher": str(d.teacher), "shape": shape}))
        part = out.with_suffix(".part")
        part.write_bytes(logits.tobytes())
        part.replace(out)
        if progress and (i + 1) % 50 == 0:
            print(f"teacher logits: {i + 1}/{len(images)}", flush=True)
    assert shape is not None
    return paths, shape


class DistillationLoss(keras.losses.Loss):
    """Per-pixel ``(1 - weight) * w_class * CE + weight * T^2 * KL`` over the packed target
    ``datasets.make_dataset`` builds (label, class weight, inside flag, teacher logits).

    Student logits coarser than the target (``model.output_stride`` > 1) are bilinear-
    resized up to it first, as ``train.LabelResolutionCrossEntropy`` does.
    """

    def __init__(self, temperature: float, weight: float, name: str = "distillation_loss") -> None:
        super().__init__(name=name)
        self.temperature, self.weight = temperature, weight

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        if y_pred.shape[1:3] != y_true.shape[1:3]:
            y_pred = tf.image.resize(y_pred, tf.shape(y_true)[1:3], method="bilinear")
        label = tf.cast(y_true[..., 0], tf.int32)
        class_weight, inside = y_true[..., 1], y_true[..., 2]
        ce = keras.losses.sparse_categorical_crossentropy(label, y_pred, from_logits=True)
        t = self.temperature
        teacher = tf.nn.softmax(y_true[..., 3:] / t)
        kl = tf.reduce_sum(
            teacher * (tf.math.log(teacher + 1e-8) - tf.nn.log_softmax(y_pred / t)), axis=-1
        )
        return (1.0 - self.weight) * class_weight * ce + self.weight * t * t * inside * kl

    def get_config(self) -> dict[str, object]:
        return {**super().get_config(), "temperature": self.temperature, "weight": self.weight}
