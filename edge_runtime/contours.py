"""Per-class polygons of a label map: what to draw or to test against a zone without
shipping the mask (a polygon is a few hundred bytes where a mask PNG is tens of kB).

Traced with contourpy (matplotlib's contouring library: no OpenCV needed, the same
output on every device) at the 0.5 level of each class's mask, so the rings run along
pixel edges: coordinates are image pixels with (0, 0) the top-left corner of the top-left
pixel, and a pixel belongs to a polygon when its centre is inside (holes cut out).
Rings are simplified with Douglas-Peucker at ``tolerance`` pixels (hand-written below:
contourpy has no simplification and shapely would be a 2.5 MB dependency for 20 lines).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, TypedDict

import numpy as np

# Above this many pixels the label map is traced at a stride (coordinates scaled back):
# a 40 MP mask would take seconds and give polygons nobody needs at that precision.
MAX_TRACE_PIXELS = 2_000_000


Ring = list[list[float]]


class Polygon(TypedDict):
    exterior: Ring
    holes: list[Ring]


class ClassPolygons(TypedDict):
    id: int
    name: str
    polygons: list[Polygon]


def class_polygons(
    label_map: np.ndarray, labels: Sequence[str], tolerance: float = 1.0, min_area: float = 4.0
) -> list[ClassPolygons]:
    """``[{"id", "name", "polygons": [{"exterior": [[x, y], ...], "holes": [...]}]}]``
    for every class present, largest first. Islands and holes under ``min_area`` square
    pixels (speckle) are left out."""
    import contourpy

    height, width = label_map.shape
    stride = max(1, int(np.ceil(np.sqrt(height * width / MAX_TRACE_PIXELS))))
    traced = label_map[::stride, ::stride]
    ids, counts = np.unique(traced, return_counts=True)
    out: list[ClassPolygons] = []
    for class_id in ids[np.argsort(-counts)]:
        # A one-pixel border of background closes the rings at the image's edges.
        mask = np.zeros((traced.shape[0] + 2, traced.shape[1] + 2), np.float32)
        mask[1:-1, 1:-1] = traced == class_id
        gen = contourpy.contour_generator(z=mask, fill_type=contourpy.FillType.OuterOffset)
        filled: Any = gen.filled(0.5, 1.5)  # OuterOffset: (points, offsets) per polygon
        polygons: list[Polygon] = []
        for pts, offs in zip(filled[0], filled[1], strict=True):
            # index space (padded, pixel centres at integers) -> image pixel corners
            xy = (np.asarray(pts, np.float64) - 1.0 + 0.5) * stride
            np.clip(xy, 0, (width, height), out=xy)
            rings = [xy[a:b] for a, b in itertools.pairwise(offs)]
            if _area(rings[0]) < min_area:
                continue
            rings = [rings[0]] + [r for r in rings[1:] if _area(r) >= min_area]
            rings = [simplify(r, tolerance * stride) for r in rings]
            rings = [r for r in rings if len(r) >= 4]  # closed: at least a triangle
            if rings:
                polygons.append(
                    {
                        "exterior": _rounded(rings[0]),
                        "holes": [_rounded(r) for r in rings[1:]],
                    }
                )
        name = labels[class_id] if class_id < len(labels) else f"class_{class_id}"
        out.append({"id": int(class_id), "name": name, "polygons": polygons})
    return out


def _area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _rounded(ring: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in ring]


def simplify(ring: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker on a closed ring (first point == last point), iteratively."""
    n = len(ring)
    if n < 4 or tolerance <= 0:
        return ring
    keep = np.zeros(n, bool)
    keep[0] = keep[-1] = True
    # A closed ring has first == last: split at the point farthest from the start.
    far = int(np.argmax(np.hypot(*(ring - ring[0]).T)))
    keep[far] = True
    stack = [(0, far), (far, n - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        seg = ring[b] - ring[a]
        rel = ring[a + 1 : b] - ring[a]
        length = float(np.hypot(*seg))
        if length == 0.0:
            dist = np.hypot(*rel.T)
        else:
            dist = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / length
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            mid = a + 1 + i
            keep[mid] = True
            stack += [(a, mid), (mid, b)]
    return ring[keep]
