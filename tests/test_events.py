"""Events from zone shares, and their bounded store."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def _sidecar(folder: Path, name: str, doc: object) -> None:
    import json

    (folder / name).write_text(json.dumps(doc))


def test_sidecars_are_data_never_paths_and_bad_ones_are_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import os

    good = {"id": "0000000001000-0000", "zone": "gate", "label": "car", "start": 1.0,
            "end": 2.0, "peak": 0.5, "snapshot": "../../etc/passwd"}  # fmt: skip
    _sidecar(tmp_path, "0000000001000-0000.json", good)
    (tmp_path / "0000000001000-0000.jpg").write_bytes(b"\xff\xd8jpeg")
    secret = tmp_path.parent / "secret.txt"
    secret.write_text("not yours")
    for name, doc in (
        ("0000000002000-0000.json", {**good, "id": 5}),
        ("0000000003000-0000.json", {**good, "id": "0000000003000-0000", "zone": 123}),
        ("0000000004000-0000.json", {**good, "id": "0000000009999-0000"}),  # name mismatch
        ("0000000005000-0000.json", [1, 2]),
        ("0000000006000-0000.json", {**good, "id": "0000000006000-0000", "start": "x\x00"}),
    ):
        _sidecar(tmp_path, name, doc)
    (tmp_path / "0000000007000-0000.json").write_bytes(b"\xff\xfe not json")
    os.mkfifo(tmp_path / "0000000008000-0000.json")  # reading it would block forever
    (tmp_path / "0000000009000-0000.json.part").write_text("{")  # an interrupted write
    store = EventStore(tmp_path)
    assert [e.id for e in store.page()] == ["0000000001000-0000"]
    # The snapshot is the sidecar's sibling, whatever the sidecar says.
    assert store.snapshot("0000000001000-0000") == b"\xff\xd8jpeg"
    assert store.page()[0].snapshot == "0000000001000-0000.jpg"
    (line,) = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert "skipped 7 file(s)" in line and "no valid id" in line  # one line, the first five named
    assert not (tmp_path / "0000000009000-0000.json.part").exists()
    # Pruning deletes only the store's own files.
    store.max_count = 0
    store.add(Event("0000000010000-0000", "gate", "car", 3.0, None, 0.4), None)
    assert secret.read_text() == "not yours"
    assert not (tmp_path / "0000000001000-0000.jpg").exists()


def test_a_failed_write_is_counted_and_loses_neither_the_event_nor_a_file(
    tmp_path: Path,
) -> None:
    store = EventStore(tmp_path)
    event = Event("0000000001000-0000", "gate", "car", 1.0, None, 0.5)
    # A directory where the JPEG's temporary file goes: the write fails for real.
    (tmp_path / f"{event.id}.jpg.part").mkdir()
    store.add(event, b"\xff\xd8jpeg")
    assert store.write_failures == 1 and store.problem and "cannot write events" in store.problem
    assert store.page() == [event] and event.snapshot is None  # listed, without a snapshot
    assert store.snapshot(event.id) is None
    assert not (tmp_path / f"{event.id}.jpg").exists()  # no empty or partial JPEG
    event.end = 2.0
    store.update(event)  # the JSON write works: the problem is over
    assert store.problem is None
    again = EventStore(tmp_path)
    assert again.page()[0].end == 2.0


def test_an_event_left_open_by_a_crash_is_closed_at_restart(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    store.add(Event("0000000001000-0000", "gate", "car", 1.0, None, 0.5), None)
    reopened = EventStore(tmp_path).page()[0]
    assert reopened.end is not None and reopened.end >= reopened.start


def test_close_all_ends_open_events_with_their_peak() -> None:
    tracker = EventTracker([GATE])
    for i, share in enumerate([0.2, 0.3, 0.45, 0.31]):
        tracker.update({("gate", "car"): share}, now=1000.0 + i)
    (open_event,) = tracker.active()
    (ended,) = tracker.close_all(2000.0)
    assert ended is open_event and ended.end == 2000.0 and ended.peak == 0.45
    assert tracker.active() == [] and tracker.close_all(2001.0) == []


def test_the_store_refuses_a_folder_it_cannot_create(tmp_path: Path) -> None:
    from edge_runtime.errors import SettingsError

    (tmp_path / "file").write_text("")
    with pytest.raises(SettingsError, match=r"events_dir .*cannot create it"):
        EventStore(tmp_path / "file" / "events")
