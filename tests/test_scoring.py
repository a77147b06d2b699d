"""mIoU, the number every model card and bench relies on, against hand-computed cases."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from edge_runtime import scoring
from edge_runtime.scoring import ConfusionAccumulator, SegmentationScores, confusion_matrix

NAMES = ("road", "car", "person")


def test_a_hand_computed_case() -> None:
    truth = np.array([[0, 0, 0, 1], [1, 1, 2, 2]])
    pred = np.array([[0, 0, 1, 1], [1, 0, 2, 1]])
    # truth 0: pred 0,0,1 -> [2, 1, 0]; truth 1: pred 1,1,0 -> [1, 2, 0]; truth 2: 2,1 -> [0, 1, 1]
    cm = confusion_matrix(truth, pred, 3)
    assert cm.tolist() == [[2, 1, 0, 0], [1, 2, 0, 0], [0, 1, 1, 0]]
    s = SegmentationScores(cm, NAMES)
    # IoU = tp / (row + column - tp): road 2/(3+3-2), car 2/(3+4-2), person 1/(2+1-1)
    assert s.iou.tolist() == pytest.approx([2 / 4, 2 / 5, 1 / 2])
    assert s.mean_iou == pytest.approx((0.5 + 0.4 + 0.5) / 3)
    assert s.pixel_accuracy == pytest.approx(5 / 8)
    assert s.pixels == 8


def test_ignored_pixels_count_nowhere() -> None:
    truth = np.array([0, 255, 1, 255])
    pred = np.array([0, 1, 1, 0])
    s = SegmentationScores(confusion_matrix(truth, pred, 2, ignore_index=255), NAMES[:2])
    assert s.pixels == 2 and s.mean_iou == 1.0 and s.pixel_accuracy == 1.0


def test_a_class_absent_from_truth_and_prediction_is_nan_and_left_out() -> None:
    truth = np.array([0, 0, 1])
    pred = np.array([0, 0, 1])
    s = SegmentationScores(confusion_matrix(truth, pred, 3), NAMES)
    assert s.iou[:2].tolist() == [1.0, 1.0] and math.isnan(s.iou[2])
    assert s.mean_iou == 1.0  # not 2/3
    assert s.as_dict()["per_class_iou"] == {"road": 1.0, "car": 1.0, "person": None}
    # Predicted but never true: IoU 0, and it counts.
    s = SegmentationScores(confusion_matrix(truth, np.array([0, 2, 1]), 3), NAMES)
    assert s.iou.tolist() == pytest.approx([0.5, 1.0, 0.0])
    assert s.mean_iou == pytest.approx(0.5)


def test_predictions_outside_the_label_set_are_wrong_and_widen_the_union() -> None:
    truth = np.array([0, 0, 0, 0, 1, 1])
    pred = np.array([0, 0, 9, -1, 1, 1])  # two pixels of road predicted as no class at all
    s = SegmentationScores(confusion_matrix(truth, pred, 2), NAMES[:2])
    assert s.iou.tolist() == pytest.approx([2 / 4, 1.0])  # not 2/2: road lost two pixels
    assert s.pixel_accuracy == pytest.approx(4 / 6)


def test_truth_outside_the_label_set_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"class id 5, outside 0\.\.2"):
        confusion_matrix(np.array([0, 5]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(np.zeros(3, int), np.zeros(4, int), 3)


def test_accumulating_images_is_one_big_matrix() -> None:
    rng = np.random.default_rng(0)
    truths = [rng.integers(0, 3, (5, 7)) for _ in range(4)]
    preds = [rng.integers(-1, 4, (5, 7)) for _ in range(4)]
    acc = ConfusionAccumulator(NAMES)
    for t, p in zip(truths, preds, strict=True):
        acc.add(t, p)
    whole = confusion_matrix(np.concatenate(truths), np.concatenate(preds), 3)
    assert (acc.scores().confusion == whole).all()
    # ... and a brute-force IoU, class by class, agrees.
    t, p = np.concatenate(truths).ravel(), np.concatenate(preds).ravel()
    for c in range(3):
        inter = np.sum((t == c) & (p == c))
        union = np.sum((t == c) | (p == c))
        assert acc.scores().iou[c] == pytest.approx(inter / union)


def test_the_docstring_examples_run() -> None:
    assert doctest.testmod(scoring).failed == 0
