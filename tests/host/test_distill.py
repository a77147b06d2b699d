"""Distillation: the loss against hand-computed values, the teacher cache, and the data
pipeline carrying the teacher's logits through the same crops and flips as the labels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from checks import camvid_data
from PIL import Image

pytestmark = pytest.mark.host


def _target(label: int, weight: float, inside: float, teacher: list[float]) -> np.ndarray:
    return np.array([[[[label, weight, inside, *teacher]]]], np.float32)


def test_loss_is_weighted_cross_entropy_plus_scaled_kl() -> None:
    from edge_runtime.host.distill import DistillationLoss

    student = np.array([[[[2.0, 0.0]]]], np.float32)
    teacher = [0.0, 1.0]
    y = _target(0, 3.0, 1.0, teacher)
    ce = -math.log(math.exp(2) / (math.exp(2) + 1))  # label 0
    t = 2.0
    p = [math.exp(v / t) for v in teacher]
    p = [v / sum(p) for v in p]
    q = [math.exp(v / t) for v in (2.0, 0.0)]
    q = [v / sum(q) for v in q]
    kl = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    for weight in (0.0, 0.3, 1.0):
        loss = DistillationLoss(temperature=t, weight=weight)
        got = float(loss(y, student))
        assert got == pytest.approx((1 - weight) * 3.0 * ce + weight * t * t * kl, rel=1e-5)
    # Outside the image the teacher says nothing; ignored labels (weight 0) add no CE.
    outside = DistillationLoss(temperature=t, weight=0.5)(_target(0, 0.0, 0.0, teacher), student)
    assert float(outside) == pytest.approx(0.0, abs=1e-7)
    # A student that already says what the teacher says pays no KL.
    same = DistillationLoss(temperature=t, weight=1.0)(
        _target(1, 1.0, 1.0, teacher), np.array([[[teacher]]], np.float32)
    )
    assert float(same) == pytest.approx(0.0, abs=1e-6)


def test_coarse_student_logits_are_resized_to_the_target() -> None:
    from edge_runtime.host.distill import DistillationLoss

    y = np.zeros((1, 4, 4, 5), np.float32)
    y[..., 1] = 1.0  # weight
    y[..., 2] = 1.0  # inside
    y[..., 3] = 5.0  # the teacher is sure of class 0
    student = np.zeros((1, 2, 2, 2), np.float32)
    student[..., 0] = 5.0
    loss = float(DistillationLoss(temperature=1.0, weight=0.5)(y, student))
    assert 0 < loss < 0.01


def _one_hot_teacher(masks: list[Path], folder: Path, classes: int) -> list[Path]:
    """A perfect teacher: logits 10 for the mask's class, 0 elsewhere (ignore: all 0)."""
    folder.mkdir()
    files = []
    for mask_path in masks:
        with Image.open(mask_path) as m:
            mask = np.asarray(m)
        logits = np.zeros((*mask.shape, classes), np.float16)
        rows, cols = np.nonzero(mask < classes)
        logits[rows, cols, mask[rows, cols]] = 10.0
        files.append(folder / f"{mask_path.stem}.f16")
        files[-1].write_bytes(logits.tobytes())
    return files


def test_teacher_logits_follow_the_labels_through_augmentation(data: Path, tmp_path: Path) -> None:
    from edge_runtime.folders import image_mask_pairs
    from edge_runtime.host.datasets import Augment, make_dataset

    pairs = image_mask_pairs(data / "camvid/val", data / "camvid/valannot")[:4]
    with Image.open(pairs[0][1]) as m:
        shape = (m.height, m.width, 11)
    teacher = _one_hot_teacher([m for _, m in pairs], tmp_path / "t", 11)
    ds = make_dataset(
        pairs,
        height=96,
        width=128,
        mean=(127.5,) * 3,
        std=(127.5,) * 3,
        ignore_index=11,
        batch_size=4,
        augment=Augment(0.5, 2.0, flip=True, photometric=True),
        shuffle=True,
        teacher=teacher,
        teacher_shape=shape,
    )
    agree = total = 0
    for _ in range(3):  # different crops, scales and flips each time
        image, target = next(iter(ds))
        assert image.shape == (4, 96, 128, 3) and target.shape == (4, 96, 128, 14)
        target = target.numpy()
        labelled = (target[..., 1] > 0) & (target[..., 2] > 0)
        taught = target[..., 3:].argmax(-1)
        agree += int((taught == target[..., 0])[labelled].sum())
        total += int(labelled.sum())
        # Padding (a zoomed-out frame) is outside: no label weight, no teacher.
        outside = target[..., 2] == 0
        assert (target[..., 1][outside] == 0).all()
        assert np.abs(target[..., 3:][outside]).max(initial=0.0) == 0.0
    # Bilinear logits against nearest labels differ only along class borders.
    assert total > 0 and agree / total > 0.95, agree / total


def test_teacher_logits_are_cached_per_teacher_file(data: Path, tmp_path: Path) -> None:
    from edge_runtime.host.config import ExperimentConfig
    from edge_runtime.host.distill import teacher_logits
    from edge_runtime.host.tf_compat import keras

    inputs = keras.Input((32, 48, 3))
    teacher = keras.Model(inputs, keras.layers.Conv2D(11, 1)(inputs))
    path = tmp_path / "teacher.keras"
    teacher.save(path)
    cfg = ExperimentConfig.model_validate(
        {
            "name": "student",
            "input": {"width": 64, "height": 48},
            "data": camvid_data(data, [f"c{i}" for i in range(11)]),
            "distillation": {"teacher": path, "cache_dir": tmp_path / "cache"},
        }
    )
    images = sorted((data / "camvid/val").glob("*.png"))[:3]
    files, shape = teacher_logits(cfg, images)
    assert shape == (32, 48, 11)
    assert [f.stem for f in files] == [p.stem for p in images]
    assert all(f.stat().st_size == 32 * 48 * 11 * 2 for f in files)
    stamps = [f.stat().st_mtime_ns for f in files]
    assert teacher_logits(cfg, images)[0] == files  # reused, not recomputed
    assert [f.stat().st_mtime_ns for f in files] == stamps
    teacher.layers[-1].set_weights([w + 1 for w in teacher.layers[-1].get_weights()])
    teacher.save(path)  # retrained: a new cache folder
    assert teacher_logits(cfg, images)[0][0].parent != files[0].parent

    two = {"labels": ["a", "b"], "palette": [[0, 0, 0]] * 2}
    wrong = cfg.model_copy(update={"data": cfg.data.model_copy(update=two)})
    keras.Model(inputs, keras.layers.Conv2D(5, 1)(inputs)).save(path)
    with pytest.raises(ValueError, match="5 classes, the data 2"):
        teacher_logits(wrong, images)
    missing = cfg.model_copy(
        update={"distillation": cfg.distillation.model_copy(update={"teacher": tmp_path / "x"})}
    )
    with pytest.raises(FileNotFoundError, match=r"distillation\.teacher"):
        teacher_logits(missing, images)
