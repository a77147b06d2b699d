"""Hot model reload (HTTP and SIGHUP) and the stuck-inference watchdog, on a real daemon."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import zoo
from daemon import start_daemon, start_gated_daemon
from PIL import Image
from zoo import colour_bars


def bars_png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(colour_bars()).save(buf, "PNG")
    return buf.getvalue()


def test_reload_swaps_and_a_corrupt_model_keeps_the_old_one(zoo_dir: Path, tmp_path: Path) -> None:
    model = zoo.bundle(zoo_dir, tmp_path, "unet_uint8_logits")
    d = start_daemon(tmp_path, "--model", str(model))
    try:
        d.wait("/readyz")
        with d.client() as c:
            # A new version of the bundle on disk, then reload.
            manifest = json.loads(model.with_suffix(".json").read_text())
            manifest["version"] = "2.0.0"
            model.with_suffix(".json").write_text(json.dumps(manifest))
            r = c.post("/v1/models/reload")
            assert r.status_code == 200 and r.json()["version"] == "2.0.0"
            assert c.get("/v1/models").json()["manifest"]["version"] == "2.0.0"
            # A corrupt file: refused, reported, and the old model keeps serving.
            good = model.read_bytes()
            model.write_bytes(good[: len(good) // 3])
            bad = c.post("/v1/models/reload")
            assert bad.status_code == 422 and bad.json()["error"] == "reload_failed"
            assert "keeps serving" in bad.json()["detail"]
            seg = c.post("/v1/segment", content=bars_png(), headers={"Content-Type": "image/png"})
            assert seg.status_code == 200  # still segmenting, with the old model
            ok = c.get("/v1/models").json()
            assert ok["manifest"]["version"] == "2.0.0"
            metrics = c.get("/metrics").text
            assert 'edge_model_reloads_total{result="error"} 1.0' in metrics
            assert 'edge_model_reloads_total{result="ok"} 1.0' in metrics
            # SIGHUP reloads too, once the file is good again.
            model.write_bytes(good)
            manifest["version"] = "3.0.0"
            model.with_suffix(".json").write_text(json.dumps(manifest))
            d.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if c.get("/v1/models").json()["manifest"]["version"] == "3.0.0":
                    break
                time.sleep(0.1)
            assert c.get("/v1/models").json()["manifest"]["version"] == "3.0.0"
    finally:
        assert d.stop() == 0


def test_stuck_inference_trips_the_watchdog(
    bars_model: Path, tmp_path: Path, notify_socket: tuple[Path, socket.socket]
) -> None:
    # Every invoke blocks on a named pipe until the test writes to it (tests/hooks):
    # stuck exactly as long as the test wants, on a fast CPU or a slow one.
    path, sock = notify_socket
    d, gate = start_gated_daemon(
        tmp_path,
        "--model",
        str(bars_model),
        env={
            "NOTIFY_SOCKET": str(path),
            "WATCHDOG_USEC": "200000",
            "EDGE_RUNTIME_INFERENCE_TIMEOUT_S": "0.2",
            "EDGE_RUNTIME_WARMUP_RUNS": "0",
        },
    )
    try:
        d.wait("/readyz")
        sock.settimeout(30)
        assert b"WATCHDOG=1" in recv_until(sock, b"WATCHDOG=1")  # fed while healthy
        done = threading.Event()

        def upload() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(
                    d.url + "/v1/segment",
                    content=bars_png(),
                    headers={"Content-Type": "image/png"},
                    timeout=120,
                )
            done.set()

        t = threading.Thread(target=upload)
        t.start()
        r = d.wait("/readyz", 503, timeout=60)  # the invoke is held: the watchdog trips
        assert r.json()["reason"].startswith("inference stuck for")
        assert not done.is_set()
        # Once stuck, WATCHDOG=1 stops for good: drain what was sent before, then 1 s of
        # silence (five watchdog intervals) while the invoke is still held.
        sock.settimeout(0.05)
        with contextlib.suppress(TimeoutError):
            while True:
                sock.recv(64)
        sock.settimeout(1.0)
        with contextlib.suppress(TimeoutError):
            assert b"WATCHDOG=1" not in sock.recv(64)
        assert httpx.get(d.url + "/healthz").status_code == 200  # alive, just not ready
        gate.write_bytes(b"all")  # release the invoke: the upload completes
        t.join(60)
        assert done.is_set()
    finally:
        d.stop()


def recv_until(sock: socket.socket, needle: bytes) -> bytes:
    while True:
        data = sock.recv(64)
        if needle in data:
            return data
