"""Polygons of a label map, rasterised back, match it."""

from __future__ import annotations

import numpy as np
from checks import paint

from edge_runtime.contours import class_polygons, simplify


def test_a_block_with_a_hole_is_exact() -> None:
    labels = np.zeros((40, 60), np.uint8)
    labels[10:30, 20:50] = 1
    labels[15:20, 30:35] = 0  # a hole
    out = {c["name"]: c for c in class_polygons(labels, ["bg", "thing"], tolerance=0.5)}
    thing = out["thing"]["polygons"]
    assert len(thing) == 1 and len(thing[0]["holes"]) == 1
    # Pixel-edge coordinates: the 30x20 block spans x 20..50, y 10..30 (corners are cut
    # by half a pixel, which no pixel centre notices), simplified to its four corners.
    exterior = np.array(thing[0]["exterior"])
    assert len(exterior) == 5
    assert exterior[:, 0].min() == 20 and exterior[:, 0].max() == 50
    assert exterior[:, 1].min() == 10 and exterior[:, 1].max() == 30
    np.testing.assert_array_equal(paint(thing, 60, 40), labels == 1)
    np.testing.assert_array_equal(paint(out["bg"]["polygons"], 60, 40), labels == 0)


def test_simplify_keeps_only_the_corners_of_a_square() -> None:
    ring = np.array([(0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (1, 2), (0, 2), (0, 1), (0, 0)], float)
    assert simplify(ring, 0.1).tolist() == [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]
