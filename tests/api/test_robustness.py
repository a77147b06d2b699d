"""Findings of the hostile-client review (issue 13) that are fixed, each against a real
daemon on loopback."""

from __future__ import annotations

import io
import resource
import signal
import socket
import threading
from pathlib import Path

import httpx
import pytest
import zoo
from daemon import Daemon, start_daemon, start_gated_daemon, wait_for_log, wait_for_metric
from PIL import Image

from edge_runtime.bench.daemon import metric


def png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("size", [(1, 100_000), (100_000, 1)])
def test_extreme_aspect_ratio_overlay_is_sent_reduced_not_a_500(
    daemon: Daemon, size: tuple[int, int]
) -> None:
    with daemon.client() as c:
        r = c.post(
            "/v1/segment?format=overlay",
            content=png(*size),
            headers={"Content-Type": "image/png"},
        )
        assert r.status_code == 200, r.text
        with Image.open(io.BytesIO(r.content)) as overlay:
            assert overlay.format == "JPEG" and max(overlay.size) <= 65_500
        # The response says the picture was reduced, and from what.
        assert r.headers["X-Overlay-Reduced-From"] == f"{size[0]}x{size[1]}"
        small = c.post(
            "/v1/segment?format=overlay", content=png(64, 48), headers={"Content-Type": "image/png"}
        )
        assert small.status_code == 200 and "X-Overlay-Reduced-From" not in small.headers
        mask = c.post(
            "/v1/segment?format=mask", content=png(*size), headers={"Content-Type": "image/png"}
        )
        with Image.open(io.BytesIO(mask.content)) as m:
            assert m.size == size  # the mask itself is never reduced


def test_slow_bodies_do_not_hold_inference_slots(bars_model: Path, tmp_path: Path) -> None:
    d = start_daemon(
        tmp_path,
        "--model",
        str(bars_model),
        env={
            "EDGE_RUNTIME_MAX_INFLIGHT": "1",
            "EDGE_RUNTIME_MAX_WAITING": "0",
            "EDGE_RUNTIME_REQUEST_TIMEOUT_S": "2",
        },
    )
    try:
        d.wait("/readyz")
        port = int(d.url.rsplit(":", 1)[1])
        slow = []
        for _ in range(3):  # each promises 10 kB and sends 10 bytes
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(
                b"POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: image/png\r\nContent-Length: 10000\r\n\r\n" + b"\x89PNG\r\n\x1a\n.."
            )
            slow.append(s)
        with d.client() as c:  # honest uploads are served meanwhile
            for _ in range(3):
                r = c.post(
                    "/v1/segment", content=png(64, 48), headers={"Content-Type": "image/png"}
                )
                assert r.status_code == 200, r.text
        for s in slow:  # and each slow one gets its 408 at the body deadline
            reply = b""
            while b'"detail"' not in reply:  # the JSON body may come in its own packet
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
            s.close()
            text = reply.decode(errors="replace")
            assert text.startswith("HTTP/1.1 408"), text
            assert '"error":"body_timeout"' in text
    finally:
        assert d.stop() == 0


def test_head_on_the_health_routes_and_the_page(daemon: Daemon) -> None:
    with daemon.client() as c:
        for path in ("/healthz", "/readyz", "/"):
            assert c.head(path).status_code == 200, path


def test_reload_refuses_a_model_whose_manifest_vanished(zoo_dir: Path, tmp_path: Path) -> None:
    model = zoo.bundle(zoo_dir, tmp_path, "unet_uint8_logits")
    d = start_daemon(tmp_path, "--model", str(model))
    try:
        d.wait("/readyz")
        model.with_suffix(".json").unlink()
        model.write_bytes((zoo_dir / "float_io_int8_weights.tflite").read_bytes())
        with d.client() as c:
            r = c.post("/v1/models/reload")
            assert r.status_code == 422 and "manifest" in r.json()["detail"]
            assert "vanished" in r.json()["detail"]
            info = c.get("/v1/models").json()
            assert info["manifest"]["name"] == "unet_uint8_logits"  # the old one serves
    finally:
        assert d.stop() == 0


def test_readyz_without_the_token_shows_no_source_or_error_text(
    bars_model: Path, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("t" * 24)
    secret = "rtsp://admin:s3cret@127.0.0.1:9/live"
    d = start_daemon(
        tmp_path,
        "--model",
        str(bars_model),
        "--token-file",
        str(token),
        "--source",
        secret,
        env={"EDGE_RUNTIME_SOURCE_RETRY_MAX_S": "0.5"},
    )
    try:
        d.wait("/readyz")
        public = httpx.get(d.url + "/readyz", timeout=30)
        text = public.text
        assert "s3cret" not in text and "rtsp" not in text and "admin" not in text
        camera = public.json()["camera"]
        assert "source" not in camera and "last_error" not in camera
        own = httpx.get(d.url + "/readyz", headers={"Authorization": "Bearer " + "t" * 24})
        assert own.json()["camera"]["source"] == "rtsp://***@127.0.0.1:9/live"
        assert "s3cret" not in own.text and "s3cret" not in d.log.read_text()
    finally:
        assert d.stop() == 0


def test_metrics_show_uploads_in_flight_and_waiting(daemon: Daemon) -> None:
    with daemon.client() as c:
        text = c.get("/metrics").text
    assert metric(text, "edge_uploads_inflight") == 0.0
    assert metric(text, "edge_uploads_waiting") == 0.0


def test_a_foreign_host_name_is_refused_on_a_loopback_daemon(daemon: Daemon) -> None:
    # DNS rebinding: a page served from evil.example resolves that name to 127.0.0.1;
    # the browser then sends Host: evil.example.
    with daemon.client() as c:
        evil = c.post("/v1/models/reload", headers={"Host": "evil.example"})
        assert evil.status_code == 400 and evil.json()["error"] == "bad_host"
        assert c.get("/readyz", headers={"Host": "evil.example:8080"}).status_code == 400
        assert c.get("/healthz", headers={"Host": "evil.example"}).status_code == 200
        for host in ("localhost:8080", "127.0.0.1", "[::1]:8080"):
            assert c.get("/readyz", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_adds_lan_names(bars_model: Path, tmp_path: Path) -> None:
    d = start_daemon(
        tmp_path,
        "--model",
        str(bars_model),
        env={"EDGE_RUNTIME_ALLOWED_HOSTS": '["camera.lan"]'},
    )
    try:
        d.wait("/readyz")
        with d.client() as c:
            assert c.get("/v1/models", headers={"Host": "camera.lan:8080"}).status_code == 200
            assert c.get("/v1/models", headers={"Host": "other.lan"}).status_code == 400
            assert c.get("/v1/models", headers={"Host": "localhost"}).status_code == 200
    finally:
        assert d.stop() == 0


def test_an_aborted_upload_is_one_debug_line_and_a_count(bars_model: Path, tmp_path: Path) -> None:
    d = start_daemon(tmp_path, "--model", str(bars_model), env={"EDGE_RUNTIME_LOG_LEVEL": "debug"})
    try:
        d.wait("/readyz")
        port = int(d.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(
                b"POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: image/png\r\nContent-Length: 100000\r\n\r\n" + b"\x89PNG" * 100
            )
        deadline = 60
        while "client disconnected during POST /v1/segment" not in d.log.read_text():
            deadline -= 1
            assert deadline, d.log.read_text()
            httpx.get(d.url + "/healthz", timeout=30)  # let the daemon notice
        metrics = httpx.get(d.url + "/metrics", timeout=30).text
        assert "edge_uploads_aborted_total 1.0" in metrics.splitlines()
        log = d.log.read_text()
        assert "Traceback" not in log and "unhandled error" not in log
    finally:
        assert d.stop() == 0


def test_a_connection_that_never_sends_a_byte_is_closed(daemon: Daemon) -> None:
    port = int(daemon.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        assert s.recv(1) == b""  # the server hung up (after timeout_keep_alive, 5 s)
    assert httpx.get(daemon.url + "/healthz", timeout=30).status_code == 200


def test_multipart_without_its_closing_boundary_or_with_two_images(daemon: Daemon) -> None:
    body = png(64, 48)
    head = (
        b'--b0undary\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + body + b"\r\n"
    )
    ctype = {"Content-Type": "multipart/form-data; boundary=b0undary"}
    with daemon.client() as c:
        cut = c.post("/v1/segment", content=head, headers=ctype)
        assert cut.status_code == 400 and cut.json()["error"] == "bad_multipart"
        assert "closing boundary" in cut.json()["detail"]
        two = c.post("/v1/segment", content=head * 2 + b"--b0undary--\r\n", headers=ctype)
        assert two.status_code == 400 and "2 'image' fields" in two.json()["detail"]
        one = c.post("/v1/segment", content=head + b"--b0undary--\r\n", headers=ctype)
        assert one.status_code == 200, one.text


def test_a_repeated_query_parameter_is_refused(daemon: Daemon) -> None:
    with daemon.client() as c:
        r = c.post(
            "/v1/segment?format=mask&format=overlay",
            content=png(64, 48),
            headers={"Content-Type": "image/png"},
        )
    assert r.status_code == 422 and r.json()["error"] == "invalid_parameter"
    assert r.json()["detail"] == [{"parameter": "format", "message": "given more than once"}]


def _post_in_thread(
    url: str, body: bytes, results: dict[str, httpx.Response], key: str
) -> threading.Thread:
    def run() -> None:
        results[key] = httpx.post(
            url + "/v1/segment?format=mask",
            content=body,
            headers={"Content-Type": "image/png"},
            timeout=120,
        )

    t = threading.Thread(target=run)
    t.start()
    return t


def _read_to_close(s: socket.socket) -> str:
    """Everything the server sends until it closes (headers and body may be two reads)."""
    chunks = []
    while chunk := s.recv(4096):
        chunks.append(chunk)
    s.close()
    return b"".join(chunks).decode()


def test_sigterm_answers_every_upload_with_a_json_503_and_exits(
    bars_model: Path, tmp_path: Path
) -> None:
    """Item 10: an upload being segmented, one queued and one still sending its body,
    all cut off by SIGTERM: each gets a JSON 503 (the queued and the slow one at once,
    the segmented one after the grace period), and the daemon exits 0 although the
    invoke never returns (held on the gate for good)."""
    d, gate = start_gated_daemon(
        tmp_path,
        "--model",
        str(bars_model),
        env={"EDGE_RUNTIME_WARMUP_RUNS": "0", "EDGE_RUNTIME_MAX_INFLIGHT": "1"},
    )
    d.wait("/readyz")
    results: dict[str, httpx.Response] = {}
    held = _post_in_thread(d.url, png(64, 48), results, "segmenting")
    with gate.open("wb"):  # opens once the invoke waits on it; never written
        queued = _post_in_thread(d.url, png(64, 48), results, "queued")
        wait_for_metric(d, "edge_uploads_waiting 1.0")
        port = int(d.url.rsplit(":", 1)[1])
        slow = socket.create_connection(("127.0.0.1", port), timeout=60)
        slow.sendall(
            b"POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Content-Length: 10000\r\n\r\n0123456789"
        )
        wait_for_metric(d, "edge_uploads_receiving 1.0")
        d.proc.send_signal(signal.SIGTERM)
        queued.join(60)
        reply = _read_to_close(slow)
        held.join(60)
        assert d.proc.wait(60) == 0
    for key in ("queued", "segmenting"):
        r = results[key]
        assert r.status_code == 503, (key, r.text)
        assert r.json()["error"] == "shutting_down", key
    assert "did not finish within 8 s" in results["segmenting"].json()["detail"]
    assert reply.startswith("HTTP/1.1 503"), reply
    assert '"error":"shutting_down"' in reply
    log = d.log.read_text()
    assert "exiting with 1 thread(s) still busy" in log
    assert "Traceback" not in log and "Internal Server Error" not in log


def test_large_images_are_decoded_one_at_a_time(bars_model: Path, tmp_path: Path) -> None:
    """Two 40 MP decodes at once would pass the unit's MemoryMax: the second large upload
    waits for the first, while a small one still gets the free slot."""
    d, gate = start_gated_daemon(
        tmp_path, "--model", str(bars_model), env={"EDGE_RUNTIME_WARMUP_RUNS": "0"}
    )
    d.wait("/readyz")
    big = png(4000, 3100)  # 12.4 MP, over LARGE_PIXELS; one colour, so a small file
    results: dict[str, httpx.Response] = {}
    threads = [_post_in_thread(d.url, big, results, "big1")]
    with gate.open("wb") as release:  # the first large upload is in its invoke
        threads.append(_post_in_thread(d.url, big, results, "big2"))
        wait_for_metric(d, "edge_uploads_waiting 1.0")
        threads.append(_post_in_thread(d.url, png(64, 48), results, "small"))
        wait_for_metric(d, "edge_uploads_inflight 2.0")  # the small one took the free slot
        assert "edge_uploads_waiting 1.0" in httpx.get(d.url + "/metrics").text
        release.write(b"all")
    for t in threads:
        t.join(120)
    assert {k: r.status_code for k, r in results.items()} == {
        "big1": 200,
        "big2": 200,
        "small": 200,
    }
    assert d.stop() == 0


def test_the_watchdog_is_withheld_while_connections_cannot_be_accepted(
    bars_model: Path, tmp_path: Path, notify_socket: tuple[Path, socket.socket]
) -> None:
    """Out of file descriptors, the daemon cannot accept a client: it stops feeding the
    watchdog (systemd would restart it) and feeds it again once it can."""
    path, _ = notify_socket
    d = start_daemon(
        tmp_path,
        "--model",
        str(bars_model),
        env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"},
    )
    d.wait("/readyz")
    pid = d.proc.pid
    in_use = len(list(Path(f"/proc/{pid}/fd").iterdir()))
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 4, hard))
    port = int(d.url.rsplit(":", 1)[1])
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]
    try:
        wait_for_log(d, "watchdog withheld")
    finally:
        for s in silent:
            s.close()
    wait_for_log(d, "accepting connections again: watchdog resumed")
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    assert d.stop() == 0
    # asyncio's accept() error: at most one line a minute, without its traceback.
    log = d.log.read_text()
    assert log.count("socket.accept() out of system resource") == 1, log
    assert "Too many open files" not in log
