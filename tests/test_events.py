"""Events from zone shares, and their bounded store."""

from __future__ import annotations

from pathlib import Path

from edge_runtime.events import Event, EventStore, EventTracker
from edge_runtime.zones import ZoneSpec

GATE = ZoneSpec(
    name="gate", polygon=[(0, 0), (1, 0), (1, 1)], classes=["car"], min_fraction=0.1, min_frames=3
)


def run(shares: list[float]) -> tuple[list[Event], list[Event], list[tuple[int, str]]]:
    tracker = EventTracker([GATE])
    started, ended, when = [], [], []
    for i, share in enumerate(shares):
        s, e = tracker.update({("gate", "car"): share}, now=1000.0 + i)
        started += s
        ended += e
        when += [(i, "start") for _ in s] + [(i, "end") for _ in e]
    return started, ended, when


def test_one_event_from_min_frames_above_to_min_frames_below() -> None:
    started, ended, when = run([0, 0.2, 0.3, 0.15, 0.4, 0.05, 0, 0.0, 0.0])
    assert when == [(3, "start"), (7, "end")]
    assert len(started) == len(ended) == 1
    event = ended[0]
    assert (event.zone, event.label, event.start, event.end) == ("gate", "car", 1003.0, 1007.0)
    assert event.peak == 0.4


def test_flicker_shorter_than_min_frames_makes_no_event() -> None:
    assert run([0.5, 0.5, 0, 0.5, 0.5, 0, 0.5, 0.5])[2] == []
    # A short dip does not end an event either.
    assert run([0.5] * 3 + [0, 0] + [0.5] * 3)[2] == [(2, "start")]


def test_the_store_is_bounded_by_count_and_bytes_and_survives_a_restart(tmp_path: Path) -> None:
    store = EventStore(tmp_path, max_count=3, max_bytes=10_000)
    for i in range(5):
        store.add(Event(f"{1000 + i:013d}-0000", "gate", "car", 1.0 + i, None, 0.5), b"x" * 100)
    assert [e.id[-8:] for e in store.page()] == ["004-0000", "003-0000", "002-0000"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"{1000 + i:013d}-0000.{ext}" for i in (2, 3, 4) for ext in ("jpg", "json")
    ]
    newest = store.page(1)[0]
    newest.end = 9.0
    store.update(newest)
    again = EventStore(tmp_path, max_count=3, max_bytes=10_000)
    assert [e.id for e in again.page()] == [e.id for e in store.page()]
    assert again.page(1)[0].end == 9.0
    assert [e.id for e in again.page(2, before=newest.id)] == [e.id for e in store.page()[1:3]]
    # Bytes: one big snapshot pushes the older ones out.
    again.add(Event(f"{2000:013d}-0000", "gate", "car", 9.0, None, 0.5), b"y" * 9_800)
    assert [e.id for e in again.page()] == [f"{2000:013d}-0000"]
