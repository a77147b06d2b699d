"""Start, readiness, systemd notifications and graceful shutdown of the real daemon."""

from __future__ import annotations

import io
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from daemon import refused, start_daemon, start_gated_daemon, wait_for_log
from PIL import Image


def test_ready_only_after_warm_up(bars_model: Path, tmp_path: Path) -> None:
    # The warm-up invoke is held (tests/hooks) until the test has seen the 503s.
    d, gate = start_gated_daemon(tmp_path, "--model", str(bars_model))
    try:
        d.wait("/healthz")
        with d.client() as c:
            early = c.get("/readyz")
            upload = c.post("/v1/segment", content=b"x", headers={"Content-Type": "image/png"})
        assert early.status_code == 503 and early.json()["reason"] == "warming up"
        assert early.json()["status"] == "not_ready"
        assert early.headers["retry-after"] == "1"
        assert upload.status_code == 503 and upload.json()["error"] == "not_ready"
        gate.write_bytes(b"all")
        assert d.wait("/readyz", 200, timeout=120).json()["ready"] is True
    finally:
        assert d.stop() == 0


def test_systemd_ready_and_watchdog(
    bars_model: Path, tmp_path: Path, notify_socket: tuple[Path, socket.socket]
) -> None:
    path, sock = notify_socket
    sock.settimeout(30)
    d = start_daemon(
        tmp_path,
        "--model",
        str(bars_model),
        env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"},
    )
    try:
        messages: list[str] = []
        deadline = time.monotonic() + 30
        while messages.count("WATCHDOG=1") < 2 and time.monotonic() < deadline:
            messages.append(sock.recv(256).decode())
        assert messages[0] == "READY=1"
        assert messages.count("WATCHDOG=1") >= 2
        assert d.stop() == 0
        assert "STOPPING=1" in sock.recv(256).decode()
    finally:
        d.stop()


def test_sigterm_lets_the_request_in_flight_finish(bars_model: Path, tmp_path: Path) -> None:
    d, gate = start_gated_daemon(
        tmp_path, "--model", str(bars_model), env={"EDGE_RUNTIME_WARMUP_RUNS": "0"}
    )
    d.wait("/readyz")
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(buf, "PNG")
    result: dict[str, object] = {}

    def upload() -> None:
        try:
            r = httpx.post(
                d.url + "/v1/segment?format=mask",
                content=buf.getvalue(),
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
    with gate.open("wb") as release:  # opens once the invoke waits on it: in flight
        d.proc.send_signal(signal.SIGTERM)
        wait_for_log(d, "Shutting down")
        release.write(b"all")
    t.join(60)
    assert d.proc.wait(60) == 0
    assert result.get("status") == 200, result
    assert result["size"] == (640, 480)
    assert "Finished server process" in d.log.read_text()


def test_bad_model_fails_fast_with_one_line(tmp_path: Path) -> None:
    assert "model not found" in refused(tmp_path, "--model", str(tmp_path / "missing.tflite"))


def test_bad_settings_name_their_origin(bars_model: Path, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("port: 80000\noverlay_alpha: 3\n")
    out = refused(tmp_path, "--config", str(config), "--model", str(bars_model))
    assert "overlay_alpha (config file)" in out


def test_serve_defaults_to_the_shipped_model(
    default_model: Path, tmp_path: Path, camvid_val: list[Path]
) -> None:
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
        # HEAD answers like GET; the OpenAPI document has each operation once.
        assert httpx.head(d.url + "/").status_code == 200
        assert httpx.head(d.url + "/readyz").status_code == 200
        doc = httpx.get(d.url + "/openapi.json").json()
        ids = [op["operationId"] for path in doc["paths"].values() for op in path.values()]
        assert len(ids) == len(set(ids))
    finally:
        assert d.stop() == 0
    log = d.log.read_text()
    # Where to look, said once the daemon listens: the page, an upload, the docs.
    assert f"open {d.url}/ for the page (no --source: uploads only)" in log
    assert "Duplicate Operation ID" not in log


def test_a_taken_port_is_one_line_and_exit_3(bars_model: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "edge_runtime.cli.main",
                "serve",
                "--port",
                str(port),
                "--model",
                str(bars_model),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 3
    assert proc.stderr.strip() == f"edge-runtime: error: port {port} is already in use"
    assert "ready:" not in proc.stdout + proc.stderr  # the model was never even loaded


def test_sigterm_with_a_stream_viewer_open_exits_cleanly(
    bars_model: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    d = start_daemon(tmp_path, "--model", str(bars_model), "--source", str(camvid_val[0].parent))
    d.wait("/readyz")
    with httpx.stream("GET", d.url + "/stream.mjpg", timeout=60) as r:
        chunks = r.iter_bytes()
        assert b"--frame" in next(chunks)  # a viewer is watching
        d.proc.send_signal(signal.SIGTERM)
        rest = b"".join(chunks)  # the server ends the stream instead of waiting on it
    assert d.proc.wait(60) == 0
    log = d.log.read_text()
    assert "Traceback" not in log and "CancelledError" not in log
    assert "Waiting for connections to close" not in log or "Finished server process" in log
    assert isinstance(rest, bytes)


def test_sighup_during_start_up_does_not_kill_the_daemon(bars_model: Path, tmp_path: Path) -> None:
    # The model load is held (tests/hooks) while SIGHUP arrives: before the server's
    # reload handler exists. SIGHUP's default action would end the process.
    d, gate = start_gated_daemon(tmp_path, "--model", str(bars_model), gate="load")
    with gate.open("wb") as release:  # opens once the daemon waits in the model load
        d.proc.send_signal(signal.SIGHUP)
        d.proc.send_signal(signal.SIGHUP)
        assert d.proc.poll() is None
        release.write(b"go")
    try:
        assert d.wait("/readyz").status_code == 200
    finally:
        assert d.stop() == 0
