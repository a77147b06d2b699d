"""Zone events and shares to an MQTT broker (paho-mqtt, the ``mqtt`` extra), with Home
Assistant MQTT discovery.

Topics under ``topic_prefix`` (default ``edge-runtime/<device id>``):
``available`` (``online``/``offline``, retained, ``offline`` is the last will),
``events`` (JSON at each event's start and end), ``zones/<zone>/<class>`` (the share,
0..1, retained, at most once per ``stats_interval_s``). Discovery configs go to
``homeassistant/sensor/<device id>/<zone>_<class>/config`` (retained).

The broker being down never stops segmentation: paho reconnects in its own thread with
back-off. Events and shares waiting to be sent are bounded (``max_queued``; past it new
ones are dropped and counted), but the state messages (``available`` and discovery) are
sent at every (re)connection whatever the backlog. paho's thread is supervised: a dead
one is logged and restarted.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from edge_runtime.errors import MissingDependencyError
from edge_runtime.events import Event
from edge_runtime.secrets import read_secret
from edge_runtime.settings import MqttSettings
from edge_runtime.zones import ZoneSpec

log = logging.getLogger("edge_runtime")
HINT = "MQTT needs paho-mqtt: pip install -e '.[mqtt]' (in the repository)"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "x"


class MqttPublisher:
    def __init__(self, cfg: MqttSettings, zones: Sequence[ZoneSpec], model: str):
        try:
            import paho.mqtt.client as mqtt
        except ImportError as exc:
            raise MissingDependencyError(HINT) from exc
        self.cfg = cfg
        self.device_id = _slug(cfg.device_id or socket.gethostname())
        self.prefix = (cfg.topic_prefix or f"edge-runtime/{self.device_id}").rstrip("/")
        self.zones, self.model = tuple(zones), model
        self.state = "connecting"
        self._last_stats = 0.0
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"edge-runtime-{self.device_id}"
        )
        client.will_set(f"{self.prefix}/available", "offline", qos=1, retain=True)
        if cfg.username:
            password = None
            if cfg.password_file is not None:
                password = read_secret(cfg.password_file, "mqtt.password_file")
            client.username_pw_set(cfg.username, password)
        if cfg.tls:
            client.tls_set()
        # paho's own queue limit would drop the state messages too once events fill it:
        # the bound is ours (events and shares only, see _publish_data).
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=60)
        client.on_connect = self._guarded(self._on_connect)
        client.on_disconnect = self._guarded(self._on_disconnect)
        client.on_publish = self._guarded(self._on_publish)
        self.client = client
        self._ok, self._no_conn = mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN
        self._pending: set[int] = set()
        self._pending_lock = threading.Lock()
        self.dropped = 0
        self.restarts = 0
        self._started = False
        self._last_drop_warning = -60.0

    def _guarded(self, callback: Any) -> Any:
        """A paho callback that logs its exception instead of killing paho's thread."""

        def run(*args: Any) -> None:
            try:
                callback(*args)
            except Exception:
                log.exception("MQTT callback %s failed", callback.__name__)

        return run

    def start(self) -> None:
        self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=30)
        self.client.loop_start()  # paho's thread: connects, reconnects with back-off
        self._started = True

    def supervise(self) -> None:
        """Restart paho's network thread if it died (called every camera frame)."""
        if not self._started or self.state == "stopping":
            return
        thread = getattr(self.client, "_thread", None)
        if thread is not None and thread.is_alive():
            return
        self.restarts += 1
        self.state = "restarting"
        log.error("MQTT client thread died; restarting it (%d restarts)", self.restarts)
        self.client.loop_stop()
        self.client.loop_start()

    def _on_publish(self, client: Any, userdata: Any, mid: int, *rest: Any) -> None:
        with self._pending_lock:
            self._pending.discard(mid)

    def _publish_data(self, topic: str, payload: str, *, retain: bool = False) -> None:
        """An event or a share: dropped (and counted) while ``max_queued`` wait already."""
        with self._pending_lock:
            if len(self._pending) >= self.cfg.max_queued:
                self.dropped += 1
                now = time.monotonic()
                if now - self._last_drop_warning >= 60:
                    self._last_drop_warning = now
                    log.warning("MQTT backlog full: dropping events (%d so far)", self.dropped)
                return
            info = self.client.publish(topic, payload, qos=self.cfg.qos, retain=retain)
            # qos 1-2 while disconnected: paho keeps it (NO_CONN) and sends it on reconnect.
            if self.cfg.qos > 0 and info.rc in (self._ok, self._no_conn):
                self._pending.add(info.mid)

    def stop(self) -> None:
        connected = self.state == "connected"
        self.state = "stopping"  # the disconnect that follows is ours, not a lost link
        if connected:
            self.client.publish(f"{self.prefix}/available", "offline", qos=1, retain=True)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False):
            self.state = "disconnected"
            log.warning("MQTT broker %s refused the connection: %s", self.cfg.host, reason)
            return
        self.state = "connected"
        log.info("MQTT connected to %s:%d as %s", self.cfg.host, self.cfg.port, self.prefix)
        client.publish(f"{self.prefix}/available", "online", qos=1, retain=True)
        for topic, config in self.discovery().items():
            client.publish(topic, json.dumps(config), qos=1, retain=True)

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if self.state == "stopping":
            log.info("MQTT disconnected from %s", self.cfg.host)
            return
        if self.state == "connected":
            log.warning("MQTT connection to %s lost (%s); reconnecting", self.cfg.host, reason)
        self.state = "disconnected"

    def discovery(self) -> dict[str, dict[str, object]]:
        """Home Assistant MQTT discovery: one sensor (percent) per zone and class."""
        device: dict[str, object] = {
            "identifiers": [f"edge-runtime-{self.device_id}"],
            "name": f"edge-runtime {self.device_id}",
            "manufacturer": "edge-runtime",
            "model": self.model,
        }
        configs: dict[str, dict[str, object]] = {}
        for zone in self.zones:
            for label in zone.classes:
                key = f"{_slug(zone.name)}_{_slug(label)}"
                configs[f"{self.cfg.discovery_prefix}/sensor/{self.device_id}/{key}/config"] = {
                    "name": f"{zone.name} {label}",
                    "unique_id": f"edge-runtime-{self.device_id}-{key}",
                    "state_topic": self.share_topic(zone.name, label),
                    "unit_of_measurement": "%",
                    "value_template": "{{ (value | float * 100) | round(1) }}",
                    "availability_topic": f"{self.prefix}/available",
                    "device": device,
                }
        return configs

    def share_topic(self, zone: str, label: str) -> str:
        return f"{self.prefix}/zones/{_slug(zone)}/{_slug(label)}"

    def event(self, kind: str, event: Event) -> None:
        payload = {"type": kind, **event.as_dict(), "device": self.device_id}
        self._publish_data(f"{self.prefix}/events", json.dumps(payload))

    def shares(self, shares: dict[tuple[str, str], float], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if now - self._last_stats < self.cfg.stats_interval_s:
            return
        self._last_stats = now
        for (zone, label), share in shares.items():
            self._publish_data(self.share_topic(zone, label), f"{share:.4f}", retain=True)
