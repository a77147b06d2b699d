"""The zone-cost benchmark measures both sides on real frames."""

from __future__ import annotations

from pathlib import Path

from edge_runtime.bench.zone_cost import markdown, measure


def test_zone_cost_on_real_frames(camvid_val: list[Path], default_model: Path) -> None:
    r = measure(camvid_val[0].parent, default_model, zones=2, classes=2, rounds=1)
    assert r["frames"] == min(20, len(camvid_val)) and r["classes_per_zone"] == 2
    assert r["frame_ms"] > 0 and r["zones_and_events_ms"] > 0
    assert r["ratio"] == r["zones_and_events_ms"] / r["frame_ms"]
    assert "2 zones x 2 classes" in markdown(r)
