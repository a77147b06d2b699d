from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from checks import STAGES
from daemon import Daemon
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from zoo import colour_bars

from edge_runtime.pipeline import SEGMENT_ONLY, Pipeline


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def jpeg(array: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


BARS = colour_bars(240, 320)


def test_json_result_for_multipart_and_raw_uploads(daemon: Daemon) -> None:
    with daemon.client() as c:
        multipart = c.post("/v1/segment", files={"image": ("bars.png", png(BARS), "image/png")})
        raw = c.post("/v1/segment", content=png(BARS), headers={"Content-Type": "image/png"})
    for r in (multipart, raw):
        assert r.status_code == 200
        doc = r.json()
        assert (doc["model"], doc["width"], doc["height"]) == ("unet_uint8_logits", 320, 240)
        assert [c["name"] for c in doc["classes"]] == ["black", "red", "green", "blue"]
        assert sum(c["fraction"] for c in doc["classes"]) == pytest.approx(1.0)
        assert set(doc["timings_ms"]) == STAGES
        stages = dict(item.split(";dur=") for item in r.headers["Server-Timing"].split(", "))
        assert set(stages) == set(doc["timings_ms"]) and float(stages["invoke"]) > 0


def test_mask_is_the_pipelines_label_map_at_full_size(
    daemon: Daemon, bars_model: Path, camvid_val: list[Path]
) -> None:
    data = camvid_val[3].read_bytes()
    with daemon.client() as c:
        r = c.post("/v1/segment?format=mask", content=data, headers={"Content-Type": "image/png"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(r.content)) as im:
        assert im.mode == "P" and im.size == (480, 360)
        ids = np.asarray(im)
    # What the daemon runs: decode no bigger than the model needs (this 480x360 frame
    # shrinks 1/3 for the 128x96 model), the label map back at full size.
    expected = Pipeline.open(bars_model).segment(data, keep_pixels=SEGMENT_ONLY).label_map
    np.testing.assert_array_equal(ids, expected)  # pixel value = class id


def test_include_mask_in_json(daemon: Daemon) -> None:
    with daemon.client() as c:
        r = c.post(
            "/v1/segment?include_mask=true",
            content=png(BARS),
            headers={"Content-Type": "image/png"},
        )
    with Image.open(io.BytesIO(base64.b64decode(r.json()["mask_png_base64"]))) as im:
        assert im.size == (320, 240) and set(np.unique(np.asarray(im))) == {0, 1, 2, 3}


def test_overlay_blends_the_mask(daemon: Daemon) -> None:
    with daemon.client() as c:
        r = c.post(
            "/v1/segment?format=overlay&alpha=1",
            content=jpeg(BARS),
            headers={"Content-Type": "image/jpeg"},
        )
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(r.content)) as im:
        assert im.size == (320, 240)
        # alpha=1: pure palette colours; the green bar is class 2 = (0, 255, 0)
        assert np.abs(np.asarray(im)[120, 200].astype(int) - [0, 255, 0]).max() < 20


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        (
            {"content": b"hello", "headers": {"Content-Type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        (
            {"content": b"plain text, not pixels", "headers": {"Content-Type": "image/png"}},
            415,
            "unsupported_image",
        ),
        (
            {
                "content": jpeg(colour_bars(480, 640))[:2000],
                "headers": {"Content-Type": "image/jpeg"},
            },
            400,
            "corrupt_image",
        ),
        (
            {"content": b"\xff" * 400_000, "headers": {"Content-Type": "image/jpeg"}},
            413,
            "body_too_large",
        ),
        ({"files": {"picture": ("a.png", png(BARS), "image/png")}}, 422, "missing_image"),
        ({"content": b"", "headers": {"Content-Type": "image/png"}}, 415, "unsupported_image"),
    ],
    ids=["text", "not-an-image", "truncated-jpeg", "too-large", "wrong-field", "empty"],
)
def test_bad_uploads_get_json_errors(
    daemon: Daemon, kwargs: dict[str, object], status: int, code: str
) -> None:
    with daemon.client() as c:
        r = c.post("/v1/segment", **kwargs)  # type: ignore[arg-type]
        assert r.status_code == status, r.text
        body = r.json()
        assert body["error"] == code and body["detail"]
        assert c.get("/healthz").status_code == 200  # still alive


@pytest.mark.parametrize("query", ["format=xml", "alpha=2", "alpha=abc", "include_mask=maybe"])
def test_bad_parameters_are_422(daemon: Daemon, query: str) -> None:
    with daemon.client() as c:
        r = c.post(f"/v1/segment?{query}", content=png(BARS), headers={"Content-Type": "image/png"})
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_parameter"


def test_unknown_route_and_method(daemon: Daemon) -> None:
    with daemon.client() as c:
        assert c.get("/nope").json()["error"] == "not_found"
        assert c.get("/v1/segment").status_code == 405


def test_models_endpoint(daemon: Daemon) -> None:
    with daemon.client() as c:
        doc = c.get("/v1/models").json()
    assert doc["name"] == "unet_uint8_logits"
    assert doc["labels"] == ["black", "red", "green", "blue"]
    assert doc["manifest"]["version"] == "1.2.3" and len(doc["manifest"]["sha256"]) == 64
    assert doc["delegate"]["kind"] == "cpu" and doc["delegate"]["fell_back"] is False
    assert doc["input"]["width"] == 128 and doc["output"]["kind"] == "logits"


def test_health_and_readiness(daemon: Daemon) -> None:
    with daemon.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert ready.json()["camera"] is None  # uploads only


def test_no_camera_routes_say_so(daemon: Daemon) -> None:
    with daemon.client() as c:
        assert c.get("/snapshot.jpg").status_code == 404
        assert c.get("/stream.mjpg").json()["error"] == "no_source"


def metric_values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return values


def test_metrics_parse_and_move(daemon: Daemon) -> None:
    with daemon.client() as c:
        before = metric_values(c.get("/metrics").text)
        for _ in range(3):
            c.post("/v1/segment", content=png(BARS), headers={"Content-Type": "image/png"})
        c.post("/v1/segment", content=b"x", headers={"Content-Type": "text/plain"})
        after = metric_values(c.get("/metrics").text)
    ok = ("edge_requests_total", (("method", "POST"), ("route", "/v1/segment"), ("status", "200")))
    bad = ("edge_requests_total", (("method", "POST"), ("route", "/v1/segment"), ("status", "415")))
    assert after[ok] - before.get(ok, 0) == 3
    assert after[bad] - before.get(bad, 0) >= 1
    count = ("edge_inference_seconds_count", (("origin", "upload"),))
    assert after[count] - before.get(count, 0) == 3
    assert after[("edge_stage_seconds_count", (("origin", "upload"), ("stage", "decode")))] >= 3
    assert after[("edge_process_resident_memory_bytes", ())] > 10e6
    assert after[("edge_ready", ())] == 1
    info = [k for k in after if k[0] == "edge_model_info"]
    assert info and dict(info[0][1])["name"] == "unet_uint8_logits"


def test_openapi_documents_every_route(daemon: Daemon) -> None:
    with daemon.client() as c:
        paths = set(c.get("/openapi.json").json()["paths"])
        assert c.get("/docs").status_code == 200
    assert {
        "/v1/segment",
        "/v1/models",
        "/healthz",
        "/readyz",
        "/metrics",
        "/stream.mjpg",
        "/snapshot.jpg",
        "/",
    } <= paths
