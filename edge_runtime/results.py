"""What a segmentation returns: the label map and its picture, class shares, stage
timings, and an encoded result."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image

from edge_runtime.postprocess import (
    as_palette_image,
)


@dataclass(frozen=True)
class StageTimings:
    decode_ms: float = 0.0
    preprocess_ms: float = 0.0
    invoke_ms: float = 0.0
    postprocess_ms: float = 0.0
    encode_ms: float = 0.0
    total_ms: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {k.removesuffix("_ms"): round(v, 3) for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True)
class ClassShare:
    id: int
    name: str
    fraction: float


@dataclass(frozen=True)
class Segmentation:
    """One result. ``label_map``: HxW uint8 class ids at the original resolution;
    ``label_image``: the same pixels as a palette ('P') image (shared memory);
    ``image``: the decoded upright RGB image (smaller than the original when draft
    decoding was allowed)."""

    model: str
    image: Image.Image
    label_map: np.ndarray
    labels: tuple[str, ...]
    palette: bytes
    timings: StageTimings

    @property
    def width(self) -> int:
        return int(self.label_map.shape[1])

    @property
    def height(self) -> int:
        return int(self.label_map.shape[0])

    @cached_property
    def label_image(self) -> Image.Image:
        return as_palette_image(self.label_map, self.palette)

    @cached_property
    def pixel_counts(self) -> np.ndarray:
        return np.asarray(self.label_image.histogram()[:256], dtype=np.int64)

    def classes(self) -> list[ClassShare]:
        """Present classes with their share of the image's pixels, largest first."""
        counts = self.pixel_counts
        total = max(int(counts.sum()), 1)
        shares = [
            ClassShare(int(i), self._name(int(i)), float(counts[i]) / total)
            for i in np.flatnonzero(counts)
        ]
        return sorted(shares, key=lambda s: -s.fraction)

    def _name(self, class_id: int) -> str:
        return self.labels[class_id] if class_id < len(self.labels) else f"class_{class_id}"

    def summary(self) -> dict[str, object]:
        """The JSON document the daemon and the CLI return."""
        return {
            "model": self.model,
            "width": self.width,
            "height": self.height,
            "classes": [
                {"id": c.id, "name": c.name, "fraction": round(c.fraction, 6)}
                for c in self.classes()
            ],
            "timings_ms": self.timings.as_dict(),
        }


@dataclass(frozen=True)
class Encoded:
    data: bytes
    content_type: str
    segmentation: Segmentation  # with encode_ms and total_ms updated
    # An overlay's (width, height): smaller than the image's when it was reduced.
    picture_size: tuple[int, int] | None = None

    @property
    def reduced(self) -> bool:
        seg = self.segmentation
        return self.picture_size is not None and self.picture_size != (seg.width, seg.height)
