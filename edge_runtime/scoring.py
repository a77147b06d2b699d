"""Segmentation accuracy: confusion matrix, per-class IoU, mIoU, pixel accuracy.

Plain numpy so that the device (``edge-bench``) and the host (Keras and .tflite
evaluation) compute the same numbers the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


def confusion_matrix(
    truth: npt.NDArray[np.integer],
    prediction: npt.NDArray[np.integer],
    num_classes: int,
    ignore_index: int | None = None,
) -> npt.NDArray[np.int64]:
    """Rows are ground truth, columns predictions; ``ignore_index`` pixels are skipped.
    A last column counts predictions outside ``[0, num_classes)``: always wrong, and part
    of their true class's union (dropping them would raise its IoU).

    Ground-truth ids outside ``[0, num_classes)`` (other than ``ignore_index``) are an
    error: they mean the masks and the model disagree on the label set.

    >>> confusion_matrix(np.array([0, 1, 1, 1]), np.array([0, 1, 0, 7]), 2).tolist()
    [[1, 0, 0], [1, 1, 1]]
    """
    if truth.shape != prediction.shape:
        raise ValueError(f"mask shape {truth.shape} != prediction shape {prediction.shape}")
    t = truth.reshape(-1).astype(np.int64)
    p = prediction.reshape(-1).astype(np.int64)
    if ignore_index is not None:
        keep = t != ignore_index
        t, p = t[keep], p[keep]
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(
            f"mask holds class id {int(t.max())}, outside 0..{num_classes - 1} "
            f"(ignore_index={ignore_index})"
        )
    p = np.where((p < 0) | (p >= num_classes), num_classes, p)
    counts = np.bincount(t * (num_classes + 1) + p, minlength=num_classes * (num_classes + 1))
    return counts.reshape(num_classes, num_classes + 1).astype(np.int64)


@dataclass(frozen=True)
class SegmentationScores:
    """Scores from one confusion matrix. IoU of a class absent from both truth and
    prediction is NaN and left out of the mean, as in the CamVid/COCO literature."""

    confusion: npt.NDArray[np.int64]  # classes x (classes + 1): the last, invalid ids
    class_names: tuple[str, ...]

    @property
    def iou(self) -> npt.NDArray[np.float64]:
        cm = self.confusion.astype(np.float64)
        n = cm.shape[0]
        tp = np.diag(cm[:, :n])
        union = cm[:, :n].sum(axis=0) + cm.sum(axis=1) - tp
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(union > 0, tp / union, np.nan)

    @property
    def mean_iou(self) -> float:
        iou = self.iou
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")

    @property
    def pixel_accuracy(self) -> float:
        total = self.confusion.sum()
        n = self.confusion.shape[0]
        return float(np.trace(self.confusion[:, :n]) / total) if total else float("nan")

    @property
    def pixels(self) -> int:
        return int(self.confusion.sum())

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: IoU of absent classes is ``None``."""
        return {
            "mean_iou": _finite_or_none(self.mean_iou),
            "pixel_accuracy": _finite_or_none(self.pixel_accuracy),
            "pixels": self.pixels,
            "per_class_iou": {
                name: _finite_or_none(float(v))
                for name, v in zip(self.class_names, self.iou, strict=True)
            },
        }


def _finite_or_none(value: float) -> float | None:
    return round(value, 6) if np.isfinite(value) else None


class ConfusionAccumulator:
    """Accumulates a confusion matrix over many images, so memory stays flat."""

    def __init__(self, class_names: tuple[str, ...] | list[str], ignore_index: int | None = None):
        self.class_names = tuple(class_names)
        self.ignore_index = ignore_index
        n = len(self.class_names)
        self.confusion = np.zeros((n, n + 1), dtype=np.int64)

    def add(self, truth: npt.NDArray[np.integer], prediction: npt.NDArray[np.integer]) -> None:
        self.confusion += confusion_matrix(
            truth, prediction, len(self.class_names), self.ignore_index
        )

    def scores(self) -> SegmentationScores:
        return SegmentationScores(self.confusion.copy(), self.class_names)
