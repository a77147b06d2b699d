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
from conftest import colour_bars
from daemon import start_daemon
from PIL import Image


def bars_png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(colour_bars()).save(buf, "PNG")
    return buf.getvalue()


def test_reload_swaps_and_a_corrupt_model_keeps_the_old_one(zoo_dir: Path, tmp_path: Path):
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
    zoo_dir: Path, tmp_path: Path, notify_socket: tuple[Path, socket.socket]
):
    slow = zoo.build("slow_conv", zoo_dir)
    path, sock = notify_socket
    sock.settimeout(0.2)
    d = start_daemon(
        tmp_path,
        "--model",
        str(slow),
        "--threads",
        "1",
        env={
            "NOTIFY_SOCKET": str(path),
            "WATCHDOG_USEC": "200000",
            "EDGE_RUNTIME_INFERENCE_TIMEOUT_S": "0.2",
            "EDGE_RUNTIME_WARMUP_RUNS": "0",
        },
    )
    try:
        d.wait("/readyz")
        body = bars_png()

        def upload() -> None:
            # The daemon is stopped under these requests at the end: that is expected.
            with contextlib.suppress(httpx.HTTPError):
                for _ in range(3):
                    httpx.post(
                        d.url + "/v1/segment",
                        content=body,
                        headers={"Content-Type": "image/png"},
                        timeout=120,
                    )

        t = threading.Thread(target=upload)
        t.start()
        deadline = time.monotonic() + 60
        reason = None
        while time.monotonic() < deadline:
            try:
                r = httpx.get(d.url + "/readyz", timeout=30)
            except httpx.TimeoutException:  # a starved machine: ask again
                continue
            if r.status_code == 503:
                reason = r.json()["reason"]
                break
            time.sleep(0.02)
        assert reason and reason.startswith("inference stuck for")
        # Once stuck, WATCHDOG=1 stops: drain, then nothing more arrives for a while.
        t.join(120)
        while True:
            try:
                sock.recv(64)
            except TimeoutError:
                break
        silent_until = time.monotonic() + 1.0
        pings = []
        while time.monotonic() < silent_until:
            with contextlib.suppress(TimeoutError):
                pings.append(sock.recv(64))
        assert b"WATCHDOG=1" not in pings
        assert httpx.get(d.url + "/healthz").status_code == 200  # alive, just not ready
    finally:
        d.stop()
