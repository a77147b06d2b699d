"""Zones: polygons on the image, and the share of each watched class inside each one.

Coordinates are 0..1 of the image's width and height, so a zone drawn once fits any
camera resolution. Masks and the scratch buffer are made once per label-map size; a frame
costs two in-place numpy passes per (zone, class) pair and no allocation.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from edge_runtime.errors import SettingsError

# Limits a settings file is refused past (each costs memory and time on every frame):
# points per polygon, zones, and (zone, class) pairs (each one a metric series too).
MAX_POINTS = 1000
MAX_ZONES = 32
MAX_PAIRS = 256


class ZoneSpec(BaseModel):
    """One zone of the ``zones`` setting."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,64}$", description="letters, digits, _ and -; unique"
    )
    polygon: list[tuple[float, float]] = Field(
        min_length=3,
        max_length=MAX_POINTS,
        description=f"[[x, y], ...] in 0..1 of the image's width and height (3-{MAX_POINTS})",
    )
    classes: list[str] = Field(
        min_length=1, max_length=MAX_PAIRS, description="the model's labels to watch"
    )
    min_fraction: float = Field(
        0.05, gt=0.0, le=1.0, description="share of the zone a class must hold for an event"
    )
    min_frames: int = Field(
        3, ge=1, description="frames in a row above (to start) or below (to end) an event"
    )

    @field_validator("polygon")
    @classmethod
    def _inside_the_image(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for x, y in points:
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(f"point ({x:g}, {y:g}) is outside 0..1 image coordinates")
        return points


def check_zones(zones: Sequence[ZoneSpec], labels: Sequence[str]) -> None:
    """``SettingsError`` for a duplicate zone name or a class the model does not have."""
    names = [z.name for z in zones]
    if len(set(names)) != len(names):
        raise SettingsError(f"zone names must be unique, got {names}")
    for zone in zones:
        unknown = [c for c in zone.classes if c not in labels]
        if unknown:
            more = f", ... {len(unknown) - 5} more]" if len(unknown) > 5 else "]"
            shown = repr(unknown[:5])[:-1] + more
            raise SettingsError(
                f"zone {zone.name!r} watches {shown[:300]}, which the model does not have "
                f"(its classes: {', '.join(labels)[:500]})"
            )


def rasterize(polygon: Sequence[tuple[float, float]], width: int, height: int) -> np.ndarray:
    """The pixels whose centre lies inside ``polygon`` (even-odd rule), as a bool mask.

    Hand-written (ten lines of numpy) because Pillow's polygon fill includes both edges, so
    two zones that share a side would both count its pixels; matplotlib and scikit-image
    are not device dependencies."""
    xs = ((np.arange(width) + 0.5) / width)[None, :]
    ys = ((np.arange(height) + 0.5) / height)[:, None]
    inside = np.zeros((height, width), bool)
    for (x1, y1), (x2, y2) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        if y1 == y2:
            continue
        crosses = (y1 > ys) != (y2 > ys)  # the edge spans this row's centre line
        x_at = x1 + (ys - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (xs < x_at)
    return inside


SHAPES_KEPT = 4


@dataclass(frozen=True)
class _Masks:
    masks: dict[str, np.ndarray]
    areas: dict[str, int]
    scratch: np.ndarray


class ZoneCounter:
    """``shares(label_map)``: {(zone, class): fraction of the zone's pixels}."""

    def __init__(self, zones: Sequence[ZoneSpec], labels: Sequence[str]):
        check_zones(zones, labels)
        self.zones = tuple(zones)
        self.pairs = [(z.name, c, labels.index(c)) for z in zones for c in z.classes]
        # Masks per frame size, the few most recent: a folder of mixed sizes costs one
        # rasterization per size, not one per frame.
        self._by_shape: OrderedDict[tuple[int, int], _Masks] = OrderedDict()
        self._masks: dict[str, np.ndarray] = {}
        self._areas: dict[str, int] = {}
        self._scratch = np.empty(0, bool)

    def _use(self, shape: tuple[int, int]) -> None:
        cached = self._by_shape.get(shape)
        if cached is None:
            height, width = shape
            masks = {z.name: rasterize(z.polygon, width, height) for z in self.zones}
            areas = {name: int(m.sum()) for name, m in masks.items()}
            cached = _Masks(masks, areas, np.empty(shape, bool))
            self._by_shape[shape] = cached
            while len(self._by_shape) > SHAPES_KEPT:
                self._by_shape.popitem(last=False)
        self._by_shape.move_to_end(shape)
        self._masks, self._areas, self._scratch = cached.masks, cached.areas, cached.scratch

    def shares(self, label_map: np.ndarray) -> dict[tuple[str, str], float]:
        shape = (int(label_map.shape[0]), int(label_map.shape[1]))
        self._use(shape)
        out = {}
        buf = self._scratch
        for zone, name, class_id in self.pairs:
            area = self._areas[zone]
            if area == 0:  # a zone thinner than a pixel at this resolution
                out[zone, name] = 0.0
                continue
            np.equal(label_map, class_id, out=buf)
            np.logical_and(buf, self._masks[zone], out=buf)
            out[zone, name] = int(np.count_nonzero(buf)) / area
        return out

    def mask(self, zone: str) -> np.ndarray | None:
        """The zone's mask at the last label-map size (tests, drawing)."""
        return self._masks.get(zone)
