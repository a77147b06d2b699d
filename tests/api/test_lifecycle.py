"""Start, readiness, systemd notifications and graceful shutdown of the real daemon."""

from __future__ import annotations

import io
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from daemon import start_daemon, start_slow_daemon
from PIL import Image


def test_ready_only_after_warm_up(zoo_dir: Path, tmp_path: Path):
    # 200 warm-up invokes of the 513x513 model: long enough to see the 503 first.
    d = start_slow_daemon(tmp_path, zoo_dir, env={"EDGE_RUNTIME_WARMUP_RUNS": "200"})
    try:
        d.wait("/healthz")
        with d.client() as c:
            early = c.get("/readyz")
            upload = c.post("/v1/segment", content=b"x", headers={"Content-Type": "image/png"})
        assert early.status_code == 503 and early.json()["reason"] == "warming up"
        assert early.headers["retry-after"] == "1"
        assert upload.status_code == 503 and upload.json()["error"] == "not_ready"
        assert d.wait("/readyz", 200, timeout=120).json()["ready"] is True
    finally:
        assert d.stop() == 0


def test_systemd_ready_and_watchdog(
    bars_model: Path, tmp_path: Path, notify_socket: tuple[Path, socket.socket]
):
    path, sock = notify_socket
    sock.settimeout(30)
    d = start_daemon(
        tmp_path,
        "--model",
        str(bars_model),
        env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"},
    )
    try:
        messages = []
        deadline = time.monotonic() + 30
        while messages.count("WATCHDOG=1") < 2 and time.monotonic() < deadline:
            messages.append(sock.recv(256).decode())
        assert messages[0] == "READY=1"
        assert messages.count("WATCHDOG=1") >= 2
        assert d.stop() == 0
        assert "STOPPING=1" in sock.recv(256).decode()
    finally:
        d.stop()


def test_sigterm_lets_the_request_in_flight_finish(bars_model: Path, tmp_path: Path):
    d = start_daemon(
        tmp_path, "--model", str(bars_model), env={"EDGE_RUNTIME_MAX_UPLOAD_BYTES": str(64 << 20)}
    )
    d.wait("/readyz")
    # A big incompressible PNG (36 MB): sending and decoding it keeps the request busy.
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8)).save(
        buf, "PNG", compress_level=0
    )
    body = buf.getvalue()
    result: dict[str, object] = {}

    def upload() -> None:
        try:
            r = httpx.post(
                d.url + "/v1/segment?format=mask",
                content=body,
                headers={"Content-Type": "image/png"},
                timeout=60,
            )
            result["status"] = r.status_code
            with Image.open(io.BytesIO(r.content)) as im:
                result["size"] = im.size
        except httpx.HTTPError as exc:
            result["error"] = exc

    t = threading.Thread(target=upload)
    t.start()
    time.sleep(0.3)  # the upload is in flight
    code = d.stop()
    t.join(60)
    assert result.get("status") == 200, result
    assert result["size"] == (4000, 3000)
    assert code == 0
    assert "Finished server process" in d.log.read_text()


def test_bad_model_fails_fast_with_one_line(tmp_path: Path):
    d = start_daemon(tmp_path, "--model", str(tmp_path / "missing.tflite"))
    assert d.proc.wait(60) == 2
    out = d.log.read_text()
    assert "model not found" in out and "Traceback" not in out


def test_bad_settings_name_their_origin(bars_model: Path, tmp_path: Path):
    config = tmp_path / "bad.yaml"
    config.write_text("port: 80000\noverlay_alpha: 3\n")
    d = start_daemon(tmp_path, "--config", str(config), "--model", str(bars_model))
    assert d.proc.wait(60) == 2
    out = d.log.read_text()
    assert "overlay_alpha (config file)" in out and "Traceback" not in out


def test_serve_defaults_to_the_shipped_model(
    default_model: Path, tmp_path: Path, camvid_val: list[Path]
):
    d = start_daemon(tmp_path)  # no --model: the README's main job
    try:
        d.wait("/readyz")
        with d.client() as c:
            info = c.get("/v1/models").json()
            assert info["path"] == str(default_model)
            assert info["manifest"]["labels"][3] == "Road"
            r = c.post(
                "/v1/segment",
                content=camvid_val[0].read_bytes(),
                headers={"Content-Type": "image/png"},
            )
        names = [cls["name"] for cls in r.json()["classes"]]
        assert r.status_code == 200 and "Road" in names[:3]  # a street scene: mostly road
    finally:
        assert d.stop() == 0
