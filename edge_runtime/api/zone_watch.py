"""What the camera sees in each zone: shares to Prometheus, events to their store."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

from edge_runtime.api.prometheus import Metrics
from edge_runtime.events import Event, EventStore, EventTracker
from edge_runtime.mqtt import MqttPublisher
from edge_runtime.results import Segmentation
from edge_runtime.settings import Settings
from edge_runtime.sources.loop import StreamHub
from edge_runtime.zones import ZoneCounter

log = logging.getLogger("edge_runtime")


def events_dir(settings: Settings) -> Path:
    """``events_dir``, else systemd's ``$STATE_DIRECTORY/events``, else
    ``~/.local/state/edge-runtime/events``."""
    if settings.events_dir is not None:
        return settings.events_dir
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    base = Path(state) if state else Path.home() / ".local/state/edge-runtime"
    return base / "events"


class ZoneWatch:
    def __init__(
        self,
        settings: Settings,
        labels: Sequence[str],
        metrics: Metrics,
        hub: StreamHub,
        model: str = "",
    ):
        self.zones = settings.zones
        self.counter = ZoneCounter(self.zones, labels)
        self.tracker = EventTracker(self.zones)
        self.store = EventStore(
            events_dir(settings), settings.events_max_count, settings.events_max_bytes
        )
        self.metrics, self.hub = metrics, hub
        self.latest: dict[tuple[str, str], float] = {}
        self._saved_peak: dict[str, float] = {}
        self._peaks_saved_at = 0.0
        store = self.store
        metrics.event_write_failures.read = lambda: store.write_failures
        self.mqtt: MqttPublisher | None = None
        if settings.mqtt is not None:
            self.mqtt = MqttPublisher(settings.mqtt, self.zones, model)
            metrics.mqtt_connected.set_function(
                lambda: 1.0 if self.mqtt and self.mqtt.state == "connected" else 0.0
            )
            mqtt = self.mqtt
            metrics.mqtt_dropped.read = lambda: mqtt.dropped

    def relabel(self, labels: Sequence[str]) -> None:
        """A reloaded model: the same zones against its classes (``SettingsError`` if it
        lacks a watched class: check with ``check_zones`` before swapping models)."""
        self.counter = ZoneCounter(self.zones, labels)

    def observe(self, seg: Segmentation) -> None:
        shares = self.counter.shares(seg.label_map)
        self.latest = shares
        for (zone, label), share in shares.items():
            self.metrics.zone_fraction.labels(zone, label).set(share)
        if self.mqtt is not None:
            self.mqtt.supervise()
            self.mqtt.shares(shares)
        now = time.time()
        started, ended = self.tracker.update(shares, now)
        for event in started:
            frame = self.hub.latest  # this frame, published just before: its overlay
            self.store.add(event, frame.jpeg() if frame is not None else None)
            self.metrics.events.labels(event.zone, event.label).inc()
            if self.mqtt is not None:
                self.mqtt.event("start", event)
            log.info("event %s: %s in zone %s (%.0f %%)", event.id, event.label, event.zone,
                     100 * event.peak)  # fmt: skip
        self._end(ended)
        self._save_peaks(now)

    def _end(self, ended: Sequence[Event]) -> None:
        for event in ended:
            self.store.update(event)
            self._saved_peak.pop(event.id, None)
            if self.mqtt is not None:
                self.mqtt.event("end", event)
            log.info("event %s ended: %s left zone %s (peak %.0f %%)", event.id, event.label,
                     event.zone, 100 * event.peak)  # fmt: skip

    def _save_peaks(self, now: float) -> None:
        """An open event's rising peak, written at most once a second: a crash keeps it."""
        if now - self._peaks_saved_at < 1.0:
            return
        self._peaks_saved_at = now
        for event in self.tracker.active():
            if self._saved_peak.get(event.id) != event.peak:
                self.store.update(event)
                self._saved_peak[event.id] = event.peak

    def close(self) -> None:
        """At stop: every open event ends now, with its true peak, stored and published."""
        self._end(self.tracker.close_all(time.time()))

    def snapshot(self) -> list[dict[str, object]]:
        """The zones with their latest shares (``GET /v1/zones``)."""
        return [
            {
                "name": z.name,
                "polygon": [list(p) for p in z.polygon],
                "min_fraction": z.min_fraction,
                "min_frames": z.min_frames,
                "fractions": {c: round(self.latest.get((z.name, c), 0.0), 6) for c in z.classes},
            }
            for z in self.zones
        ]
