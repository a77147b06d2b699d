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
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from edge_runtime.errors import SettingsError
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

    def active(self) -> list[Event]:
        """The events open now."""
        return [p.active for p in self._pairs.values() if p.active is not None]

    def close_all(self, now: float) -> list[Event]:
        """End every open event at ``now`` (a stop); returns them."""
        ended = []
        for state in self._pairs.values():
            if state.active is not None:
                state.active.end = now
                ended.append(state.active)
                state.active = None
            state.above = state.below = 0
            state.run_peak = 0.0
        return ended


class EventStore:
    """Events newest last in memory (bounded like the folder), JPEG + JSON on disk.

    Sidecars are data, never paths: an event's snapshot is always ``<id>.jpg`` beside its
    ``<id>.json`` (whatever a sidecar says), ids are checked, and anything unreadable,
    corrupted or not a regular file is skipped at start with one line. A failed write
    (a full or read-only disk) is counted and reported (``problem``), leaves no partial
    file, and loses nothing else: the event stays listed and is still published.
    """

    def __init__(self, folder: Path, max_count: int = 500, max_bytes: int = 100 * 2**20):
        self.folder, self.max_count, self.max_bytes = folder, max_count, max_bytes
        self._events: OrderedDict[str, Event] = OrderedDict()
        self._lock = threading.Lock()
        self.write_failures = 0
        self.problem: str | None = None  # the last write failure, until a write succeeds
        self._last_warning = -WARN_EVERY_S
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(f"events_dir {folder}: cannot create it ({exc.strerror})") from exc
        self._load()

    def _load(self) -> None:
        skipped = []
        for path in sorted(self.folder.iterdir()):
            if path.name.endswith(".part"):  # an interrupted write
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            if path.suffix != ".json":
                continue
            try:
                event = _read_sidecar(path)
            except ValueError as exc:
                skipped.append(f"{path.name} ({exc})")
                continue
            snapshot = self.folder / f"{event.id}.jpg"
            event.snapshot = snapshot.name if _regular(snapshot) else None
            if event.end is None:  # the daemon stopped without closing it: last write
                event.end = path.stat().st_mtime
            self._events[event.id] = event
        if skipped:
            log.warning(
                "events_dir %s: skipped %d file(s): %s",
                self.folder,
                len(skipped),
                "; ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""),
            )
        self._events = OrderedDict(sorted(self._events.items()))
        self._prune()

    def add(self, event: Event, snapshot: bytes | None) -> None:
        """Keep ``event`` (and its snapshot); never raises for a disk problem."""
        with self._lock:
            event.snapshot = None
            ok = True
            if snapshot is not None:
                ok = self._put(f"{event.id}.jpg", snapshot)
                event.snapshot = f"{event.id}.jpg" if ok else None
            self._events[event.id] = event
            if self._put(f"{event.id}.json", json.dumps(event.as_dict()).encode()) and ok:
                self.problem = None
            self._prune()

    def update(self, event: Event) -> None:
        with self._lock:
            if event.id not in self._events:  # pruned meanwhile
                return
            if self._put(f"{event.id}.json", json.dumps(event.as_dict()).encode()):
                self.problem = None

    def _put(self, name: str, data: bytes) -> bool:
        """Write ``name`` whole or not at all; a failure is counted, logged (once a
        minute at most) and kept as ``problem`` until an event is written whole."""
        tmp = self.folder / f"{name}.part"
        try:
            tmp.write_bytes(data)
            tmp.replace(self.folder / name)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            self.write_failures += 1
            self.problem = f"cannot write events to {self.folder}: {exc.strerror}"
            now = time.monotonic()
            if now - self._last_warning >= WARN_EVERY_S:
                self._last_warning = now
                log.warning("%s (%d failed writes so far)", self.problem, self.write_failures)
            return False
        return True

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
            oldest_id, _ = self._events.popitem(last=False)
            total -= sizes[oldest_id]
            for name in (f"{oldest_id}.json", f"{oldest_id}.jpg"):
                with contextlib.suppress(OSError):
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

    def snapshot(self, event_id: str) -> bytes | None:
        """The event's snapshot JPEG, read whole under the lock the pruner takes: never
        half a file, never a path a sidecar named."""
        with self._lock:
            event = self._events.get(event_id)
            if event is None or event.snapshot is None:
                return None
            try:
                return (self.folder / f"{event.id}.jpg").read_bytes()
            except OSError:
                return None


WARN_EVERY_S = 60.0


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _read_sidecar(path: Path) -> Event:
    """The event a sidecar holds; ``ValueError`` with the reason for anything else."""
    if not _regular(path):  # a FIFO would block the read forever, a link lead elsewhere
        raise ValueError("not a regular file")
    if path.stat().st_size > 64 * 1024:
        raise ValueError("too large for an event")
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable: {exc}") from exc
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    event_id = doc.get("id")
    if not isinstance(event_id, str) or not EVENT_ID.match(event_id):
        raise ValueError("no valid id")
    if path.name != f"{event_id}.json":
        raise ValueError(f"its id {event_id} does not match the file name")
    try:
        start, end, peak = doc["start"], doc.get("end"), doc["peak"]
        zone, label = doc["zone"], doc["label"]
        if not (isinstance(zone, str) and isinstance(label, str)):
            raise TypeError("zone and label must be strings")
        return Event(
            event_id,
            zone,
            label,
            float(start),
            None if end is None else float(end),
            float(peak),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"bad fields: {exc}") from exc
