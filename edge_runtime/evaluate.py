"""Accuracy of a model *through the device pipeline*: the number is what the device does.

Used by ``edge-bench --masks`` and ``edge-host evaluate`` / ``export``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from edge_runtime.pipeline import SEGMENT_ONLY, Pipeline
from edge_runtime.scoring import ConfusionAccumulator, SegmentationScores


def evaluate(
    pipe: Pipeline,
    pairs: Sequence[tuple[Path, Path]],
    *,
    ignore_index: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SegmentationScores:
    """mIoU, per-class IoU and pixel accuracy of ``pipe`` on image/mask pairs.

    The mask's ignore index defaults to the manifest's. Masks must have the image's size.
    """
    ignore = ignore_index if ignore_index is not None else pipe.spec.ignore_index
    acc = ConfusionAccumulator(pipe.spec.labels, ignore)
    for i, (image, mask) in enumerate(pairs):
        seg = pipe.segment(image.read_bytes(), keep_pixels=SEGMENT_ONLY)  # as the daemon
        with Image.open(mask) as m:
            truth = np.asarray(m)
        if truth.shape != seg.label_map.shape:
            raise ValueError(
                f"{mask.name}: mask is {truth.shape[1]}x{truth.shape[0]}, image is "
                f"{seg.width}x{seg.height}"
            )
        acc.add(truth, seg.label_map)
        if progress:
            progress(i + 1, len(pairs))
    return acc.scores()
