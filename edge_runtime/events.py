"""Events: a watched class present in a zone, from when it is there for ``min_frames``
frames at ``min_fraction`` or more until it has been below for ``min_frames`` frames.

``EventTracker`` is the state machine; ``EventStore`` keeps events and their overlay
snapshots in a folder bounded by count and bytes (oldest deleted first), with each
event's JSON beside its JPEG, so a restart finds them again. Nothing grows in memory.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from edge_runtime.zones import ZoneSpec

log = logging.getLogger(__name__)
EVENT_ID = re.compile(r"^[0-9]{13}-[0-9]{4}$")


@dataclass
class Event:
    id: str
    zone: str
    label: str
    start: float  # Unix time, s
    end: float | None
    peak: float  # the largest share of the zone the class held
    snapshot: str | None = None  # file name in the events folder

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class _Pair:
    above: int = 0
    below: int = 0
    run_peak: float = 0.0
    active: Event | None = None


class EventTracker:
    """Feed it each frame's shares; it says which events started and ended."""

    def __init__(self, zones: Sequence[ZoneSpec]):
        self._rules = {(z.name, c): z for z in zones for c in z.classes}
        self._pairs = {key: _Pair() for key in self._rules}
        self._ids = itertools.count()

    def update(
        self, shares: dict[tuple[str, str], float], now: float
    ) -> tuple[list[Event], list[Event]]:
        started, ended = [], []
        for key, share in shares.items():
            rule, state = self._rules[key], self._pairs[key]
            if share >= rule.min_fraction:
                state.above += 1
                state.below = 0
                state.run_peak = max(state.run_peak, share)
                if state.active is not None:
                    state.active.peak = max(state.active.peak, share)
                elif state.above >= rule.min_frames:
                    event_id = f"{int(now * 1000):013d}-{next(self._ids) % 10000:04d}"
                    state.active = Event(event_id, key[0], key[1], now, None, state.run_peak)
                    started.append(state.active)
            else:
                state.below += 1
                state.above = 0
                state.run_peak = 0.0
                if state.active is not None and state.below >= rule.min_frames:
                    state.active.end = now
                    ended.append(state.active)
                    state.active = None
        return started, ended


class EventStore:
    """Events newest last in memory (bounded like the folder), JPEG + JSON on disk."""

    def __init__(self, folder: Path, max_count: int = 500, max_bytes: int = 100 * 2**20):
        self.folder, self.max_count, self.max_bytes = folder, max_count, max_bytes
        self._events: OrderedDict[str, Event] = OrderedDict()
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        self._load()

    def _load(self) -> None:
        for path in sorted(self.folder.glob("*.json")):
            try:
                event = Event(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("ignoring unreadable event file %s: %s", path.name, exc)
                continue
            if EVENT_ID.match(event.id):
                self._events[event.id] = event
        self._prune()

    def add(self, event: Event, snapshot: bytes | None) -> None:
        with self._lock:
            if snapshot is not None:
                event.snapshot = f"{event.id}.jpg"
                (self.folder / event.snapshot).write_bytes(snapshot)
            self._events[event.id] = event
            self._write(event)
            self._prune()

    def update(self, event: Event) -> None:
        with self._lock:
            if event.id in self._events:  # not pruned meanwhile
                self._write(event)

    def _write(self, event: Event) -> None:
        tmp = self.folder / f"{event.id}.json.part"
        tmp.write_text(json.dumps(event.as_dict()))
        tmp.replace(self.folder / f"{event.id}.json")

    def _size(self, event: Event) -> int:
        total = 0
        for name in (f"{event.id}.json", event.snapshot):
            if name:
                with contextlib.suppress(OSError):
                    total += (self.folder / name).stat().st_size
        return total

    def _prune(self) -> None:
        sizes = {e.id: self._size(e) for e in self._events.values()}
        total = sum(sizes.values())
        while self._events and (len(self._events) > self.max_count or total > self.max_bytes):
            oldest_id, oldest = self._events.popitem(last=False)
            total -= sizes[oldest_id]
            for name in (f"{oldest_id}.json", oldest.snapshot):
                if name:
                    (self.folder / name).unlink(missing_ok=True)

    def page(self, limit: int = 20, before: str | None = None) -> list[Event]:
        """Newest first; ``before``: only events older than that id (the next page)."""
        with self._lock:
            events = list(reversed(self._events.values()))
        if before is not None:
            events = [e for e in events if e.id < before]
        return events[:limit]

    def get(self, event_id: str) -> Event | None:
        with self._lock:
            return self._events.get(event_id)

    def snapshot_path(self, event: Event) -> Path | None:
        return self.folder / event.snapshot if event.snapshot else None
