"""Zone events over MQTT to a real broker: Debian's mosquitto on a loopback port."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from daemon import Daemon, free_port, refused, start_daemon
from zone_frames import crossing_config, crossing_folder, road_zone_config

from edge_runtime.bench.daemon import metric

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@dataclass
class Broker:
    port: int
    conf: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.conf.with_suffix(".log")
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.conf)], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until it accepts connections
            try:
                with socket_to(self.port):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"mosquitto did not start:\n{log.read_text()}")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)


def socket_to(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=1)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed: apt install mosquitto (scripts/test.sh does)")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    b = Broker(port, conf)
    b.start()
    yield b
    b.kill()


@dataclass
class Listener:
    """A real MQTT client subscribed to everything, keeping (topic, payload, retain)."""

    port: int
    messages: list[tuple[str, str, bool]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-listener")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe("#", qos=1)
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()

    def _on_message(self, client: object, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self.arrived:
            self.messages.append((msg.topic, msg.payload.decode(), bool(msg.retain)))
            self.arrived.notify_all()

    def wait_for(
        self, predicate: Callable[[list[tuple[str, str, bool]]], bool], timeout: float = 120
    ) -> list[tuple[str, str, bool]]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: predicate(self.messages), timeout):
                raise AssertionError(f"never arrived; got {self.messages[-10:]}")
            return list(self.messages)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _events(messages: list[tuple[str, str, bool]], prefix: str) -> list[dict[str, object]]:
    return [json.loads(p) for t, p, _ in messages if t == f"{prefix}/events"]


def test_events_shares_and_discovery_reach_the_broker(
    default_model: Path, camvid_val: list[Path], tmp_path: Path, broker: Broker
) -> None:
    folder = tmp_path / "frames"
    label, hi, lo = crossing_folder(default_model, camvid_val, folder)
    prefix = "edge-runtime/cam1"
    config = crossing_config(
        tmp_path,
        folder,
        label,
        hi,
        lo,
        mqtt={"host": "127.0.0.1", "port": broker.port, "device_id": "cam1"},
    )
    listener = Listener(broker.port)
    d = start_daemon(tmp_path, "--config", str(config))
    try:
        d.wait("/readyz", timeout=120)
        got = listener.wait_for(lambda m: any(e["type"] == "end" for e in _events(m, prefix)))
        events = _events(got, prefix)
        assert [e["type"] for e in events] == ["start", "end"]
        start, end = events
        assert start["id"] == end["id"] and (end["zone"], end["label"]) == ("all", label)
        assert abs(float(end["peak"]) - hi) < 1e-6  # type: ignore[arg-type]
        assert (f"{prefix}/available", "online") in [(t, p) for t, p, _ in got]
        discovery = [json.loads(p) for t, p, _ in got if t.startswith("homeassistant/sensor/")]
        assert len(discovery) == 1
        # What Home Assistant requires of an MQTT sensor (and what makes it one device).
        config_doc = discovery[0]
        assert config_doc["state_topic"] == f"{prefix}/zones/all/{label}"
        for key in ("name", "unique_id", "availability_topic", "device"):
            assert config_doc[key], key
        assert config_doc["device"]["identifiers"] == ["edge-runtime-cam1"]
        shares = [float(p) for t, p, _ in got if t == f"{prefix}/zones/all/{label}"]
        assert shares and all(0.0 <= s <= 1.0 for s in shares)
        assert httpx.get(d.url + "/readyz").json()["mqtt"] == "connected"
    finally:
        listener.close()
        assert d.stop() == 0
    log = d.log.read_text()
    # A clean stop is not a lost connection.
    assert "MQTT disconnected from 127.0.0.1" in log and "lost" not in log


def test_the_daemon_outlives_the_broker_and_reconnects(
    default_model: Path, camvid_val: list[Path], tmp_path: Path, broker: Broker
) -> None:
    d = _cut_off(tmp_path, camvid_val[0].parent, broker, 5, device_id="cam2")
    try:
        # Segmentation goes on: frames keep being processed, uploads keep working.
        processed = httpx.get(d.url + "/readyz").json()["camera"]["processed"]
        deadline = time.monotonic() + 60
        while httpx.get(d.url + "/readyz").json()["camera"]["processed"] <= processed + 3:
            assert time.monotonic() < deadline, "the camera loop stopped with the broker"
            time.sleep(0.1)
        assert "edge_mqtt_connected 0.0" in httpx.get(d.url + "/metrics").text
        broker.start()  # same port: paho reconnects with back-off (1 s, then doubling)
        _wait_mqtt(d, "connected", timeout=120)
        assert "edge_mqtt_connected 1.0" in httpx.get(d.url + "/metrics").text
    finally:
        assert d.stop() == 0


def _cut_off(tmp_path: Path, frames: Path, broker: Broker, fps: int, **mqtt: object) -> Daemon:
    """A daemon replaying ``frames`` at ``fps``, connected to ``broker``, which then dies."""
    settings = {"host": "127.0.0.1", "port": broker.port, **mqtt}
    config = road_zone_config(tmp_path, frames, source_fps=fps, mqtt=settings)
    d = start_daemon(tmp_path, "--config", str(config))
    try:
        d.wait("/readyz", timeout=120)
        _wait_mqtt(d, "connected")
        broker.kill()
        _wait_mqtt(d, "disconnected")
    except BaseException:
        d.stop()
        raise
    return d


def _wait_mqtt(d: Daemon, state: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while httpx.get(d.url + "/readyz").json()["mqtt"] != state:
        if time.monotonic() > deadline:
            raise AssertionError(f"MQTT never {state}:\n{d.log.read_text()[-3000:]}")
        time.sleep(0.1)


def test_credentials_from_a_password_file(
    default_model: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    """A broker that wants a user and password: the right ones connect; a wrong password
    is refused, said once in the log, and the daemon keeps serving."""
    passwd = tmp_path / "passwd"
    subprocess.run(
        [shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd", "-b", "-c",
         str(passwd), "edge", "s3cret-pass"],
        check=True,
    )  # fmt: skip
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\n"
        # As root, mosquitto would switch to its own user, which cannot read the
        # test's private temporary folder; as any other user this line changes nothing.
        "persistence false\nuser root\n"
    )
    broker = Broker(port, conf)
    broker.start()
    try:
        for password, state in (("s3cret-pass", "connected"), ("wrong", "disconnected")):
            secret = tmp_path / f"mqtt-{state}"
            secret.write_text(password + "\n")
            mqtt = {"host": "127.0.0.1", "port": port, "username": "edge"}
            config = road_zone_config(
                tmp_path,
                camvid_val[0].parent,
                f"edge-{state}.yaml",
                mqtt={**mqtt, "password_file": str(secret)},
            )
            d = start_daemon(tmp_path, "--config", str(config))
            try:
                d.wait("/readyz", timeout=120)
                _wait_mqtt(d, state)
                assert httpx.get(d.url + "/healthz").status_code == 200
                log = d.log.read_text()
                assert password not in log
                if state == "disconnected":
                    assert "refused the connection" in log
            finally:
                assert d.stop() == 0
    finally:
        broker.kill()


def test_state_messages_come_back_after_a_full_backlog_and_a_broker_restart(
    default_model: Path, camvid_val: list[Path], tmp_path: Path, broker: Broker
) -> None:
    # A share every frame and room for three: the backlog fills fast.
    d = _cut_off(
        tmp_path, camvid_val[0].parent, broker, 20, device_id="cam3", stats_interval_s=0.01,
        max_queued=3,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not metric(httpx.get(d.url + "/metrics").text, "edge_mqtt_dropped_total"):
            assert time.monotonic() < deadline, "the backlog never filled"
            time.sleep(0.1)
        broker.start()  # a fresh broker: no retained message survived
        _wait_mqtt(d, "connected", timeout=120)
        listener = Listener(broker.port)
        try:
            got = listener.wait_for(
                lambda m: (
                    ("edge-runtime/cam3/available", "online", True) in m
                    and any(t.startswith("homeassistant/sensor/cam3/") and r for t, _, r in m)
                )
            )
        finally:
            listener.close()
        assert ("edge-runtime/cam3/available", "online", True) in got
    finally:
        assert d.stop() == 0


@pytest.mark.parametrize(
    ("mqtt_setting", "message"),
    [
        ({"discovery_prefix": "#"}, "must not contain '#'"),
        ({"topic_prefix": "cams/+/x"}, "must not contain '+'"),
        ({"topic_prefix": "a\x00b"}, "must not contain '\\x00'"),
        ({"topic_prefix": "x" * 70_000}, "at most 256"),
        ({"host": ""}, "mqtt.host"),
        ({"password_file": "/nope"}, "password_file needs mqtt.username"),
    ],
)
def test_bad_mqtt_settings_refuse_to_start(
    camvid_val: list[Path], tmp_path: Path, mqtt_setting: dict[str, object], message: str
) -> None:
    config = road_zone_config(
        tmp_path, camvid_val[0].parent, mqtt={"host": "127.0.0.1", **mqtt_setting}
    )
    out = refused(tmp_path, "--config", str(config))
    assert message in out and len(out.strip().splitlines()) == 1, out
