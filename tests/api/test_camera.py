"""The camera pipeline end to end: replayed sources → inference loop → /stream.mjpg."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from daemon import Daemon, refused, start_daemon, start_slow_daemon
from PIL import Image

from edge_runtime.bench.daemon import metric


def read_mjpeg(daemon: Daemon, frames: int, timeout: float = 30) -> list[Image.Image]:
    """Parse the multipart stream as a browser would: boundary, headers, JPEG body."""
    images: list[Image.Image] = []
    with httpx.stream("GET", daemon.url + "/stream.mjpg", timeout=timeout) as r:
        assert r.status_code == 200
        ctype = r.headers["content-type"]
        assert ctype.startswith("multipart/x-mixed-replace")
        boundary = ctype.split("boundary=")[1].encode()
        buf = b""
        for chunk in r.iter_bytes():
            buf += chunk
            while True:
                start = buf.find(b"--" + boundary)
                head_end = buf.find(b"\r\n\r\n", start)
                if start < 0 or head_end < 0:
                    break
                headers = dict(
                    line.split(": ", 1) for line in buf[start:head_end].decode().split("\r\n")[1:]
                )
                length = int(headers["Content-Length"])
                body = buf[head_end + 4 : head_end + 4 + length]
                if len(body) < length:
                    break
                assert headers["Content-Type"] == "image/jpeg"
                images.append(Image.open(io.BytesIO(body)))
                buf = buf[head_end + 4 + length :]
            if len(images) >= frames:
                return images
    return images


@pytest.fixture
def folder(camvid_val: list[Path], tmp_path: Path) -> Path:
    out = tmp_path / "frames"
    out.mkdir()
    for p in camvid_val[:5]:
        shutil.copy(p, out / p.name)
    return out


def test_folder_source_streams_overlays(bars_model: Path, folder: Path, tmp_path: Path) -> None:
    d = start_daemon(
        tmp_path, "--model", str(bars_model), "--source", str(folder), "--source-fps", "20"
    )
    try:
        d.wait("/readyz")
        frames = read_mjpeg(d, 5)
        assert len(frames) == 5
        for im in frames:
            im.load()
            assert im.format == "JPEG" and im.size == (480, 360)
            assert np.asarray(im).std() > 5  # a real picture, not a blank frame
        with d.client() as c:
            snap = c.get("/snapshot.jpg")
            assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"
            stats = c.get("/v1/stats").json()
            assert stats["camera"]["state"] == "running" and stats["fps"] > 0
            assert stats["invoke_ms"]["p50"] > 0 and stats["classes"]
            ready = c.get("/readyz").json()
            assert ready["camera"]["processed"] > 0
            # Uploads still work while the camera loop runs.
            up = c.post(
                "/v1/segment",
                content=(folder / sorted(p.name for p in folder.iterdir())[0]).read_bytes(),
                headers={"Content-Type": "image/png"},
            )
            assert up.status_code == 200
    finally:
        assert d.stop() == 0


def test_overlays_are_encoded_only_when_someone_looks(
    bars_model: Path, folder: Path, tmp_path: Path
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    def counts(c: httpx.Client) -> tuple[float, float]:
        """(camera frames processed, camera overlays encoded)."""
        processed = encoded = 0.0
        for family in text_string_to_metric_families(c.get("/metrics").text):
            for s in family.samples:
                if s.name == "edge_camera_frames_processed_total":
                    processed = s.value
                if s.name == "edge_stage_seconds_count" and s.labels == {
                    "stage": "encode",
                    "origin": "camera",
                }:
                    encoded = s.value
        return processed, encoded

    d = start_daemon(
        tmp_path, "--model", str(bars_model), "--source", str(folder), "--source-fps", "20"
    )
    try:
        d.wait("/readyz")
        with d.client() as c:
            deadline = time.monotonic() + 60
            while counts(c)[0] < 10:
                assert time.monotonic() < deadline, "the camera loop did not run"
                time.sleep(0.05)
            assert counts(c)[1] == 0  # nobody watching: no overlay made
            snap = c.get("/snapshot.jpg")
            assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"
            assert counts(c)[1] == 1  # one look, one encode
        assert len(read_mjpeg(d, 3)) == 3  # a viewer: frames are encoded for it
        with d.client() as c:
            assert counts(c)[1] >= 3
    finally:
        assert d.stop() == 0


def test_skipped_frames_are_counted_when_inference_is_slower(
    zoo_dir: Path, folder: Path, tmp_path: Path
) -> None:
    # 513x513 ArgMax model: far slower per frame than a 500 fps replay.
    d = start_slow_daemon(tmp_path, zoo_dir, "--source", str(folder), "--source-fps", "500")
    try:
        d.wait("/readyz")
        deadline = time.monotonic() + 60
        with d.client() as c:
            while time.monotonic() < deadline:
                cam = c.get("/readyz").json()["camera"]
                if cam["skipped"] > 0 and cam["processed"] > 0:
                    break
                time.sleep(0.05)
            metrics = c.get("/metrics").text
        assert cam["skipped"] > 0 and cam["processed"] > 0
        assert cam["captured"] >= cam["processed"] + cam["skipped"]
        assert (metric(metrics, "edge_camera_frames_skipped_total") or 0) > 0
        for name in ("captured", "processed", "skipped"):  # counts are counters
            assert f"# TYPE edge_camera_frames_{name}_total counter" in metrics
    finally:
        assert d.stop() == 0


def test_failing_source_is_reconnected(bars_model: Path, folder: Path, tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    d = start_daemon(
        tmp_path,
        "--model",
        str(bars_model),
        "--source",
        str(folder / "*.png"),
        "--source-fps",
        "30",
        env={
            "EDGE_RUNTIME_SOURCE_RETRY_INITIAL_S": "0.1",
            "EDGE_RUNTIME_SOURCE_RETRY_MAX_S": "0.3",
        },
    )
    try:
        d.wait("/readyz")
        shutil.move(folder, saved)  # "unplug": files vanish mid-stream
        deadline = time.monotonic() + 10
        with d.client() as c:
            while time.monotonic() < deadline:
                cam = c.get("/readyz").json()["camera"]
                if cam["state"] == "reconnecting":
                    break
                time.sleep(0.05)
            assert cam["state"] == "reconnecting" and cam["last_error"]
            ready = c.get("/readyz")  # uploads still work: ready, but degraded, and why
            assert ready.status_code == 200 and ready.json()["status"] == "degraded"
            assert ready.json()["reason"].startswith("camera down: ")
            assert metric(c.get("/metrics").text, "edge_camera_up") == 0.0
            shutil.move(saved, folder)  # plugged back in
            while time.monotonic() < deadline + 10:
                cam = c.get("/readyz").json()["camera"]
                if cam["state"] == "running":
                    break
                time.sleep(0.05)
            assert cam["state"] == "running" and cam["reconnects"] >= 1
            assert c.get("/readyz").json()["status"] == "ready"
            before = cam["processed"]
            while time.monotonic() < deadline + 20:
                if c.get("/readyz").json()["camera"]["processed"] > before:
                    break
                time.sleep(0.05)
            assert c.get("/readyz").json()["camera"]["processed"] > before
    finally:
        assert d.stop() == 0
    log = d.log.read_text()
    # One WARNING when it went down (rate-limited while it stays down), one line when back.
    assert log.count("WARNING edge_runtime: camera ") == 1, log
    assert "is back after" in log


def test_video_file_source(bars_model: Path, camvid_val: list[Path], tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2", reason="the camera extra (OpenCV) is not installed")
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (480, 360))
    for p in camvid_val[:8]:
        writer.write(cv2.imread(str(p)))
    writer.release()
    d = start_daemon(tmp_path, "--model", str(bars_model), "--source", str(video))
    try:
        d.wait("/readyz")
        frames = read_mjpeg(d, 12)  # more than the clip holds: it loops
        assert len(frames) == 12 and frames[0].size == (480, 360)
    finally:
        assert d.stop() == 0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("floppy:0", "unknown source 'floppy:0'"),
        ("../shared/nowhere", "no such folder: ../shared/nowhere"),
    ],
)
def test_a_bad_source_is_a_one_line_error(
    bars_model: Path, tmp_path: Path, spec: str, message: str
) -> None:
    assert message in refused(tmp_path, "--model", str(bars_model), "--source", spec)
