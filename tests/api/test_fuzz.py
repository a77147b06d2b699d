"""Property-based fuzzing: schemathesis over the daemon's own OpenAPI schema, hypothesis
over image bytes. Every answer is a 4xx or a correct 2xx; never a 5xx, never a dead daemon."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from daemon import Daemon, start_daemon
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from zoo import colour_bars


@pytest.fixture(scope="module")
def fuzz_daemon(bars_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("fuzz")
    d = start_daemon(
        tmp,
        "--model",
        str(bars_model),
        "--source",
        "synthetic",
        env={"EDGE_RUNTIME_MAX_UPLOAD_BYTES": "200000"},
    )
    d.wait("/readyz")
    yield d
    assert d.stop() == 0


SKIP = {
    "/stream.mjpg",  # an endless stream; tests/api/test_camera.py reads it
    "/v1/models/reload",  # swaps the model; tests/api/test_reload_watchdog.py covers it
}


def test_no_endpoint_answers_5xx(fuzz_daemon: Daemon) -> None:
    # schemathesis' own pytest plugin does not run on this pytest; drive its strategies.
    schema = schemathesis.openapi.from_url(fuzz_daemon.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert {op.path for op in operations} >= {"/v1/segment", "/v1/models", "/readyz"}
    statuses: list[int] = []
    calls: dict[str, int] = {}
    for op in operations:
        if op.path in SKIP:
            continue

        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(base_url=fuzz_daemon.url, timeout=30)
            statuses.append(response.status_code)
            calls[f"{case.method.upper()} {case.path}"] = (
                calls.get(f"{case.method.upper()} {case.path}", 0) + 1
            )
            assert response.status_code < 500, (
                case.path,
                response.status_code,
                response.text[:300],
            )

        check()
    # Cases were really generated and sent: every operation at least once (those without
    # parameters have one case), the upload with its parameters many times.
    tested = {f"{op.method.upper()} {op.path}" for op in operations if op.path not in SKIP}
    assert set(calls) == tested, calls
    assert calls["POST /v1/segment"] >= 10, calls
    assert any(400 <= code < 500 for code in statuses)  # including bad ones
    assert httpx.get(fuzz_daemon.url + "/healthz").status_code == 200


def png(array) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


VALID = png(colour_bars(60, 80))


@given(
    cut=st.integers(min_value=0, max_value=len(VALID)),
    flips=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=8),
    ctype=st.sampled_from(
        [
            "image/png",
            "image/jpeg",
            "application/octet-stream",
            "text/plain",
            "multipart/form-data; boundary=x",
            "",
        ]
    ),
)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_mangled_images_never_break_the_daemon(
    fuzz_daemon: Daemon, cut: int, flips: list[tuple[int, int]], ctype: str
) -> None:
    data = bytearray(VALID[:cut])
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    headers = {"Content-Type": ctype} if ctype else {}
    r = httpx.post(
        fuzz_daemon.url + "/v1/segment?format=mask",
        content=bytes(data),
        headers=headers,
        timeout=30,
    )
    assert r.status_code < 500, r.text
    if r.status_code == 200:
        with Image.open(io.BytesIO(r.content)) as mask:
            assert mask.size == (80, 60)
    else:
        assert r.json()["error"]
