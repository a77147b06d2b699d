"""Zones and events on a real daemon replaying real frames (issue 15)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import yaml
from daemon import Daemon, refused, start_daemon, start_gated_daemon
from zone_frames import WHOLE, crossing_config, crossing_folder, road_zone_config

from edge_runtime.bench.daemon import metric


def test_a_class_crossing_a_zone_is_one_event(
    default_model: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    folder = tmp_path / "frames"
    label, hi, lo = crossing_folder(default_model, camvid_val, folder)
    events_dir = tmp_path / "events"
    config = crossing_config(tmp_path, folder, label, hi, lo)
    d = start_daemon(tmp_path, "--config", str(config))
    try:
        d.wait("/readyz", timeout=120)
        with d.client() as c:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                events = c.get("/v1/events").json()["events"]
                if events and events[0]["end"] is not None:
                    break
                time.sleep(0.1)
            assert len(events) == 1, events
            event = events[0]
            assert (event["zone"], event["label"]) == ("all", label)
            assert abs(event["peak"] - hi) < 1e-6 and event["end"] > event["start"]
            snap = c.get(f"/v1/events/{event['id']}/snapshot.jpg")
            assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"
            assert (events_dir / f"{event['id']}.jpg").read_bytes() == snap.content
            metrics = c.get("/metrics").text
            assert f'edge_events_total{{class="{label}",zone="all"}} 1.0' in metrics
            assert f'edge_zone_fraction{{class="{label}",zone="all"}}' in metrics
            zones = c.get("/v1/zones").json()["zones"]
            assert zones[0]["name"] == "all" and label in zones[0]["fractions"]
            assert c.get("/v1/events/0000000000000-0000/snapshot.jpg").status_code == 404
            assert c.get("/v1/events", params={"before": "../etc"}).status_code == 422
    finally:
        assert d.stop() == 0


def test_bad_zones_refuse_to_start(
    default_model: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    zone = {"name": "gate", "polygon": WHOLE, "classes": ["Persn"]}
    config = tmp_path / "z.yaml"
    config.write_text(yaml.safe_dump({"source": str(camvid_val[0].parent), "zones": [zone]}))
    assert "zone 'gate' watches ['Persn']" in refused(tmp_path, "--config", str(config))
    config.write_text(yaml.safe_dump({"zones": [{**zone, "classes": ["Car"]}]}))
    assert "zones need a camera source" in refused(tmp_path, "--config", str(config))


def test_no_zones_means_404_not_500(daemon: Daemon) -> None:
    r = httpx.get(daemon.url + "/v1/events")
    assert r.status_code == 404 and r.json()["error"] == "no_zones"


def test_contours_rasterised_back_match_the_mask(daemon: Daemon, camvid_val: list[Path]) -> None:
    """``contours=true`` polygons, filled again, cover the class mask the same daemon
    returns as a PNG at >= 95 % IoU, on real frames."""
    import io

    import numpy as np
    from checks import paint
    from PIL import Image

    inter = union = 0
    with daemon.client() as c:
        for frame in camvid_val[:3]:
            body = frame.read_bytes()
            doc = c.post(
                "/v1/segment?contours=true", content=body, headers={"Content-Type": "image/png"}
            ).json()
            png = c.post(
                "/v1/segment?format=mask", content=body, headers={"Content-Type": "image/png"}
            )
            mask = np.asarray(Image.open(io.BytesIO(png.content)))
            assert {p["id"] for p in doc["contours"]} <= set(np.unique(mask).tolist())
            for cls in doc["contours"]:
                filled = paint(cls["polygons"], doc["width"], doc["height"])
                truth = mask == cls["id"]
                inter += int((filled & truth).sum())
                union += int((filled | truth).sum())
        assert inter / union >= 0.95, inter / union
        bad = c.post("/v1/segment?format=mask&contours=true", content=body,
                     headers={"Content-Type": "image/png"})  # fmt: skip
        assert bad.status_code == 422


def test_mqtt_without_zones_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "m.yaml"
    config.write_text(yaml.safe_dump({"source": "synthetic", "mqtt": {"host": "127.0.0.1"}}))
    assert "mqtt publishes zone events: set zones too" in refused(tmp_path, "--config", str(config))


def test_a_reloaded_model_must_still_have_the_watched_classes(tmp_path: Path) -> None:
    import pytest

    from edge_runtime.api.prometheus import Metrics
    from edge_runtime.api.zone_watch import ZoneWatch
    from edge_runtime.errors import SettingsError
    from edge_runtime.settings import Settings
    from edge_runtime.sources.loop import StreamHub

    settings = Settings.load(
        source="synthetic",
        events_dir=tmp_path,
        zones=[{"name": "gate", "polygon": WHOLE, "classes": ["Car"]}],
    )
    watch = ZoneWatch(settings, ["Road", "Car"], Metrics(), StreamHub())
    watch.relabel(["Car", "Road", "Sky"])  # another order: the class id follows the name
    assert watch.counter.pairs == [("gate", "Car", 0)]
    with pytest.raises(SettingsError, match=r"zone 'gate' watches \['Car'\]"):
        watch.relabel(["Road", "Sky"])


def _wait(what: str, check: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.1)


def test_an_events_folder_that_fails_degrades_the_daemon_and_loses_no_event(
    default_model: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    import shutil

    folder = tmp_path / "frames"
    label, hi, lo = crossing_folder(default_model, camvid_val, folder)
    config = crossing_config(tmp_path, folder, label, hi, lo)
    events_dir = tmp_path / "events"
    d = start_daemon(tmp_path, "--config", str(config))
    try:
        d.wait("/readyz", timeout=120)
        # The folder goes away and a file takes its place: every write fails for real.
        shutil.rmtree(events_dir)
        events_dir.write_text("")
        with d.client() as c:
            started = f'edge_events_total{{class="{label}",zone="all"}}'
            _wait("an event while the disk fails", lambda: started in c.get("/metrics").text)
            _wait(
                "readyz degraded",
                lambda: c.get("/readyz").json()["status"] == "degraded",
            )
            ready = c.get("/readyz")
            assert ready.status_code == 200  # degraded still serves
            assert "cannot write events" in ready.json()["reason"]
            failures = metric(c.get("/metrics").text, "edge_event_write_failures_total")
            assert failures is not None and failures >= 1
            assert c.get("/v1/events").json()["events"], "the event is still listed"
            # The disk comes back: the next event is written whole and the daemon is ready.
            events_dir.unlink()
            events_dir.mkdir()
            _wait("ready again", lambda: c.get("/readyz").json()["status"] == "ready")
    finally:
        assert d.stop() == 0
    assert "Traceback" not in d.log.read_text()
    assert not list(events_dir.glob("*.part"))


def test_an_event_open_at_stop_is_closed_with_its_peak(
    default_model: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    import json
    import shutil

    from zone_frames import crossing

    spread = camvid_val[:: max(1, len(camvid_val) // 8)]
    label, with_it, _, hi, lo = crossing(default_model, spread)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(4):  # the class never leaves: the event stays open until the stop
        shutil.copy(with_it, folder / f"{i:02d}.png")
    config = crossing_config(tmp_path, folder, label, hi, lo)
    d = start_daemon(tmp_path, "--config", str(config))
    try:
        d.wait("/readyz", timeout=120)
        with d.client() as c:
            _wait("an open event", lambda: c.get("/v1/events").json()["events"])
            (event,) = c.get("/v1/events").json()["events"]
            assert event["end"] is None
    finally:
        assert d.stop() == 0
    saved = json.loads((tmp_path / "events" / f"{event['id']}.json").read_text())
    assert saved["end"] is not None and saved["end"] >= saved["start"]
    assert abs(saved["peak"] - hi) < 1e-6


def test_repeated_event_parameters_are_refused(
    default_model: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    config = road_zone_config(tmp_path, camvid_val[0].parent)
    d = start_daemon(tmp_path, "--config", str(config))
    try:
        d.wait("/readyz", timeout=120)
        r = httpx.get(d.url + "/v1/events?limit=1&limit=200")
        assert r.status_code == 422 and "given more than once" in r.text
    finally:
        assert d.stop() == 0


def test_a_camera_loop_that_stops_advancing_makes_the_daemon_unready(
    bars_model: Path, camvid_val: list[Path], tmp_path: Path
) -> None:

    # Every invoke waits on a pipe (tests/hooks): the camera loop holds one frame for as
    # long as the test wants. The inference watchdog is far off; the progress one is not.
    d, gate = start_gated_daemon(
        tmp_path,
        "--model",
        str(bars_model),
        "--source",
        str(camvid_val[0].parent),
        env={
            "EDGE_RUNTIME_INFERENCE_TIMEOUT_S": "600",
            "EDGE_RUNTIME_CAMERA_STALL_TIMEOUT_S": "0.5",
            "EDGE_RUNTIME_WARMUP_RUNS": "0",
        },
    )
    try:
        r = d.wait("/readyz", 503, timeout=60)
        _wait(
            "the stall reported",
            lambda: "camera loop stalled" in (httpx.get(d.url + "/readyz").json()["reason"] or ""),
        )
        gate.write_bytes(b"all")  # the loop moves again: ready again
        r = d.wait("/readyz", 200, timeout=60)
        assert r.json()["status"] == "ready"
    finally:
        assert d.stop() == 0


def test_oversized_or_overnested_settings_are_one_line_and_exit_2(
    camvid_val: list[Path], tmp_path: Path
) -> None:
    config = tmp_path / "deep.yaml"
    config.write_text("a: " + "[" * 600 + "]" * 600 + "\n")
    assert "nested too deeply" in refused(tmp_path, "--config", str(config))
    zone = {"name": "gate", "polygon": [[0.5, 0.5]] * 1001, "classes": ["Road"]}
    config.write_text(yaml.safe_dump({"source": str(camvid_val[0].parent), "zones": [zone]}))
    out = refused(tmp_path, "--config", str(config))
    assert "at most 1000 items" in out and len(out.strip().splitlines()) == 1
    config.write_text("# " + "x" * (1 << 20) + "\n")
    assert "a settings file is at most 1,048,576" in refused(tmp_path, "--config", str(config))


def test_contours_hold_the_inference_slot_and_are_timed(
    bars_model: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    """Polygon tracing grows with the image: it runs inside the admission budget, so with
    one slot and no queue a second upload is refused while one traces."""
    import threading

    d, gate = start_gated_daemon(
        tmp_path,
        "--model",
        str(bars_model),
        env={"EDGE_RUNTIME_MAX_INFLIGHT": "1", "EDGE_RUNTIME_MAX_WAITING": "0"},
        gate="contour",
    )
    body = camvid_val[0].read_bytes()
    headers = {"Content-Type": "image/png"}
    try:
        d.wait("/readyz")
        answers: list[httpx.Response] = []
        traced = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    d.url + "/v1/segment?contours=true", content=body, headers=headers, timeout=120
                )
            )
        )
        traced.start()
        _wait(
            "the upload to hold the slot",
            lambda: "edge_uploads_inflight 1.0" in httpx.get(d.url + "/metrics").text,
        )
        second = httpx.post(d.url + "/v1/segment", content=body, headers=headers, timeout=60)
        assert second.status_code == 503 and second.json()["error"] == "overloaded"
        gate.write_bytes(b"go")  # the tracing finishes
        traced.join(60)
        (first,) = answers
        assert first.status_code == 200 and "contours" in first.json()
        assert "contours;dur=" in first.headers["Server-Timing"]
    finally:
        assert d.stop() == 0
