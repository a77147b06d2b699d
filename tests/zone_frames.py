"""Real frames in which a class crosses a zone, for the zone, event and MQTT tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from edge_runtime.pipeline import Pipeline
from edge_runtime.zones import ZoneCounter, ZoneSpec

WHOLE = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]


def crossing(default_model: Path, frames: list[Path]) -> tuple[str, Path, Path, float, float]:
    """The class whose whole-frame share differs most between two of these frames, as the
    daemon's own pipeline sees it: (class, frame with most, frame with least, most, least)."""
    pipe = Pipeline.open(default_model)
    labels = list(pipe.spec.labels)
    counter = ZoneCounter([ZoneSpec(name="all", polygon=WHOLE, classes=labels)], labels)
    shares = [counter.shares(pipe.segment(p.read_bytes()).label_map) for p in frames]
    best = max(
        labels,
        key=lambda c: max(s["all", c] for s in shares) - min(s["all", c] for s in shares),
    )
    values = [s["all", best] for s in shares]
    hi, lo = max(values), min(values)
    assert hi - lo >= 0.05, f"no class changes enough between these frames ({best}: {values})"
    return best, frames[values.index(hi)], frames[values.index(lo)], hi, lo


def crossing_folder(
    default_model: Path, camvid_val: list[Path], folder: Path
) -> tuple[str, float, float]:
    """Frames 00..11 in ``folder``: 2 without the class, 4 with it, 6 without: one event at
    min_frames 3, then a quiet gap of 8 frames before the folder's next pass could start
    another. Returns (class, its share with, its share without)."""
    spread = camvid_val[:: max(1, len(camvid_val) // 8)]  # frames far apart in the video
    label, with_it, without, hi, lo = crossing(default_model, spread)
    folder.mkdir()
    for i, source in enumerate([without] * 2 + [with_it] * 4 + [without] * 6):
        shutil.copy(source, folder / f"{i:02d}.png")
    return label, hi, lo


def crossing_config(
    tmp_path: Path, folder: Path, label: str, hi: float, lo: float, **more: object
) -> Path:
    """A serve config replaying ``folder`` at 4 fps with one whole-frame zone on ``label``,
    its threshold half-way between the shares with and without it (plus ``more``)."""
    import yaml

    zone = {
        "name": "all",
        "polygon": WHOLE,
        "classes": [label],
        "min_fraction": round((hi + lo) / 2, 4),
        "min_frames": 3,
    }
    doc = {
        "source": str(folder),
        "source_fps": 4,
        "events_dir": str(tmp_path / "events"),
        "zones": [zone],
        **more,
    }
    config = tmp_path / "edge.yaml"
    config.write_text(yaml.safe_dump(doc))
    return config


def road_zone_config(tmp_path: Path, frames: Path, name: str = "edge.yaml", **more: object) -> Path:
    """A serve config replaying ``frames`` with one whole-frame zone watching Road (plus
    ``more``, e.g. ``mqtt``), its events in ``tmp_path/events``."""
    import yaml

    doc = {
        "source": str(frames),
        "events_dir": str(tmp_path / "events"),
        "zones": [{"name": "all", "polygon": WHOLE, "classes": ["Road"]}],
        **more,
    }
    config = tmp_path / name
    config.write_text(yaml.safe_dump(doc))
    return config
