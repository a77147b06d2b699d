"""Auth (secure by default), overload shedding, and hostile uploads against a real daemon."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
from daemon import Daemon, refused, start_daemon, start_gated_daemon, wait_for_metric
from PIL import Image
from zoo import colour_bars

from edge_runtime.bench.hostile import hostile_corpus

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def secured(bars_model: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("secured")
    token_file = tmp / "token"
    token_file.write_text(TOKEN + "\n")
    d = start_daemon(tmp, "--model", str(bars_model), "--token-file", str(token_file))
    d.wait("/readyz")
    yield d
    assert d.stop() == 0


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def test_every_route_but_health_needs_the_token(secured: Daemon) -> None:
    with httpx.Client(base_url=secured.url, timeout=30) as c:
        for path in ("/v1/models", "/metrics", "/v1/stats", "/docs", "/openapi.json", "/nope"):
            r = c.get(path)
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert r.json()["error"] == "unauthorized"
        assert c.post("/v1/segment", content=b"x").status_code == 401
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 200
        assert c.get("/").status_code == 200  # the page shell asks for the token itself
        wrong = c.get("/v1/models", headers={"Authorization": "Bearer " + "x" * 32})
        assert wrong.status_code == 401 and "wrong" in wrong.json()["detail"]
        ok = c.get("/v1/models", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        cookie = c.get("/v1/models", headers={"Cookie": f"edge_token={TOKEN}"})
        assert cookie.status_code == 200


def test_non_loopback_bind_without_a_token_is_refused(bars_model: Path, tmp_path: Path) -> None:
    out = refused(tmp_path, "--model", str(bars_model), "--host", "0.0.0.0")
    assert "exposes the daemon to the network" in out


def test_insecure_flag_allows_it_with_a_warning(bars_model: Path, tmp_path: Path) -> None:
    d = start_daemon(
        tmp_path, "--model", str(bars_model), "--host", "0.0.0.0", "--insecure-no-auth"
    )
    try:
        d.wait("/readyz")
        assert "WITHOUT authentication" in d.log.read_text()
    finally:
        assert d.stop() == 0


def test_overload_gets_503_with_retry_after_and_no_crash(bars_model: Path, tmp_path: Path) -> None:
    # One slot, one waiting place; the invoke is held (tests/hooks) so the slot stays
    # taken for as long as the test needs, whatever the CPU's speed.
    d, gate = start_gated_daemon(
        tmp_path,
        "--model",
        str(bars_model),
        env={
            "EDGE_RUNTIME_MAX_INFLIGHT": "1",
            "EDGE_RUNTIME_MAX_WAITING": "1",
            "EDGE_RUNTIME_WARMUP_RUNS": "0",
            "EDGE_RUNTIME_REQUEST_TIMEOUT_S": "60",
        },
    )
    try:
        d.wait("/readyz")
        body = png_bytes(colour_bars(480, 640))
        results: list[httpx.Response] = []

        def client() -> None:
            results.append(
                httpx.post(
                    d.url + "/v1/segment?format=mask",
                    content=body,
                    headers={"Content-Type": "image/png"},
                    timeout=60,
                )
            )

        threads = [threading.Thread(target=client) for _ in range(2)]
        threads[0].start()
        with gate.open("wb") as release:  # opens once the first upload's invoke waits
            threads[1].start()
            wait_for_metric(d, "edge_uploads_waiting 1.0")
            shed = [
                httpx.post(
                    d.url + "/v1/segment?format=mask",
                    content=body,
                    headers={"Content-Type": "image/png"},
                    timeout=60,
                )
                for _ in range(3)
            ]
            release.write(b"all")
        for t in threads:
            t.join(60)
        assert [r.status_code for r in results] == [200, 200]
        assert [r.status_code for r in shed] == [503, 503, 503]
        assert all(r.headers["retry-after"] == "1" for r in shed)
        assert {r.json()["error"] for r in shed} == {"overloaded"}
        assert httpx.get(d.url + "/healthz").status_code == 200
    finally:
        assert d.stop() == 0


@pytest.mark.parametrize("name", list(hostile_corpus()))
def test_hostile_files_get_4xx_or_a_correct_200(daemon: Daemon, name: str) -> None:
    data = hostile_corpus()[name]
    with daemon.client() as c:
        for ctype in ("image/png", "application/octet-stream"):
            r = c.post("/v1/segment?format=mask", content=data, headers={"Content-Type": ctype})
            assert r.status_code < 500, (name, r.status_code, r.text)
            if r.status_code == 200:
                with Image.open(io.BytesIO(r.content)) as mask:
                    assert mask.mode == "P" and mask.width >= 1
            else:
                assert r.json()["error"]
        assert c.get("/healthz").status_code == 200


def test_nothing_a_client_sends_creates_a_metric_series(secured: Daemon) -> None:
    """Made-up methods and paths, refused with 401 before any check: they fold into
    closed label sets, so 200 of them add no series."""
    from prometheus_client.parser import text_string_to_metric_families

    def series() -> set[tuple[tuple[str, str], ...]]:
        text = httpx.get(
            secured.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        ).text
        return {
            tuple(sorted(s.labels.items()))
            for family in text_string_to_metric_families(text)
            if family.name == "edge_requests"
            for s in family.samples
        }

    with httpx.Client(base_url=secured.url, timeout=30) as c:
        for i in range(3):  # every kind of answer once, so their series exist
            c.request(f"MADEUP{i}", f"/x{i}")
        series()  # the scrape itself, once
        before = series()
        for i in range(200):
            c.request(f"M{i}", f"/random/{i}")
    after = series()
    assert after == before
    methods = {dict(labels)["method"] for labels in after}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"}
