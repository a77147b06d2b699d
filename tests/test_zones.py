"""Zone shares, exact on a known label map."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from edge_runtime.errors import SettingsError
from edge_runtime.zones import ZoneCounter, ZoneSpec

LABELS = ["road", "car", "person"]


def zone(name: str, polygon: list[tuple[float, float]], classes: list[str]) -> ZoneSpec:
    return ZoneSpec(name=name, polygon=polygon, classes=classes)


def test_shares_are_the_class_pixels_inside_the_zone() -> None:
    labels = np.zeros((100, 200), np.uint8)
    labels[:, 100:] = 1  # right half: car
    labels[50:, 150:] = 2  # bottom-right quarter of the right half: person
    left = zone("left", [(0, 0), (0.5, 0), (0.5, 1), (0, 1)], ["car", "road"])
    right = zone("right", [(0.5, 0), (1, 0), (1, 1), (0.5, 1)], ["car", "person"])
    counter = ZoneCounter([left, right], LABELS)
    shares = counter.shares(labels)
    assert shares["left", "road"] == pytest.approx(1.0)
    assert shares["left", "car"] == pytest.approx(0.0)
    assert shares["right", "car"] == pytest.approx(0.75)
    assert shares["right", "person"] == pytest.approx(0.25)
    # The masks are made once per size: a second frame reuses them.
    mask = counter.mask("right")
    counter.shares(labels)
    assert counter.mask("right") is mask
    assert mask is not None and mask.sum() == 100 * 100


def test_a_triangle_covers_about_half_its_box() -> None:
    counter = ZoneCounter([zone("t", [(0, 0), (1, 0), (0, 1)], ["road"])], LABELS)
    share = counter.shares(np.zeros((300, 400), np.uint8))["t", "road"]
    assert share == 1.0
    mask = counter.mask("t")
    assert mask is not None and abs(mask.mean() - 0.5) < 0.01


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ([(0, 0), (1, 0)], "at least 3"),
        ([(0, 0), (1.5, 0), (1, 1)], r"\(1.5, 0\) is outside 0..1"),
    ],
)
def test_bad_polygons_are_refused(polygon: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        zone("z", polygon, ["car"])


def test_unknown_classes_and_duplicate_names_are_refused() -> None:
    square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]
    with pytest.raises(SettingsError, match=r"zone 'gate' watches \['persn'\]"):
        ZoneCounter([zone("gate", square, ["persn"])], LABELS)
    with pytest.raises(SettingsError, match="zone names must be unique"):
        ZoneCounter([zone("a", square, ["car"]), zone("a", square, ["road"])], LABELS)


def test_masks_are_made_once_per_frame_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from edge_runtime import zones

    made: list[tuple[int, int]] = []
    real = zones.rasterize

    def counting(polygon, width, height):  # type: ignore[no-untyped-def]
        made.append((width, height))
        return real(polygon, width, height)

    monkeypatch.setattr(zones, "rasterize", counting)
    counter = ZoneCounter([zone("all", [(0, 0), (1, 0), (1, 1), (0, 1)], ["car"])], LABELS)
    small, large = np.ones((48, 64), np.uint8), np.ones((480, 640), np.uint8)
    for _ in range(5):  # a folder of mixed sizes
        assert counter.shares(small)["all", "car"] == 1.0
        assert counter.shares(large)["all", "car"] == 1.0
    assert made == [(64, 48), (640, 480)]


def test_limits_are_refused_with_a_short_message() -> None:
    from edge_runtime.settings import Settings
    from edge_runtime.zones import MAX_PAIRS, MAX_POINTS, MAX_ZONES

    square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    many = [(0.5 + 0.4 * np.cos(t), 0.5 + 0.4 * np.sin(t)) for t in np.linspace(0, 6, 1001)]
    with pytest.raises(ValidationError, match=f"at most {MAX_POINTS} items"):
        zone("big", many, ["car"])
    with pytest.raises(SettingsError, match=f"zones.*at most {MAX_ZONES} items"):
        Settings.load(zones=[{"name": f"z{i}", "polygon": square, "classes": ["car"]}
                             for i in range(MAX_ZONES + 1)])  # fmt: skip
    classes = [f"c{i}" for i in range(20)]
    with pytest.raises(SettingsError, match=f"280 .zone, class. pairs; at most {MAX_PAIRS}"):
        Settings.load(
            zones=[{"name": f"z{i}", "polygon": square, "classes": classes} for i in range(14)]
        )
    unknown = [f"nope{i}" for i in range(200)]
    with pytest.raises(SettingsError) as info:
        ZoneCounter([zone("z", square, unknown[:200])], LABELS)
    assert len(str(info.value)) < 1000 and "195 more" in str(info.value)
