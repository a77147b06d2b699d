"""Auth (secure by default), overload shedding, and hostile uploads against a real daemon."""

from __future__ import annotations

import functools
import io
import struct
import threading
import zlib
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import colour_bars
from daemon import Daemon, start_daemon
from PIL import Image

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


def test_every_route_but_health_needs_the_token(secured: Daemon):
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


def test_non_loopback_bind_without_a_token_is_refused(bars_model: Path, tmp_path: Path):
    d = start_daemon(tmp_path, "--model", str(bars_model), "--host", "0.0.0.0")
    assert d.proc.wait(60) == 2
    out = d.log.read_text()
    assert "exposes the daemon to the network" in out and "Traceback" not in out


def test_insecure_flag_allows_it_with_a_warning(bars_model: Path, tmp_path: Path):
    d = start_daemon(
        tmp_path, "--model", str(bars_model), "--host", "0.0.0.0", "--insecure-no-auth"
    )
    try:
        d.wait("/readyz")
        assert "WITHOUT authentication" in d.log.read_text()
    finally:
        assert d.stop() == 0


def test_overload_gets_503_with_retry_after_and_no_crash(zoo_dir: Path, tmp_path: Path):
    # One slot, one waiting place, a slow model: 8 concurrent clients overflow it.
    d = start_daemon(
        tmp_path,
        "--model",
        str(zoo_dir / "deeplab_uint8_argmax.tflite"),
        "--threads",
        "1",
        env={"EDGE_RUNTIME_MAX_INFLIGHT": "1", "EDGE_RUNTIME_MAX_WAITING": "1"},
    )
    try:
        d.wait("/readyz")
        body = png_bytes(colour_bars(480, 640))
        results: list[httpx.Response] = []
        lock = threading.Lock()

        def client() -> None:
            for _ in range(3):
                r = httpx.post(
                    d.url + "/v1/segment?format=mask",
                    content=body,
                    headers={"Content-Type": "image/png"},
                    timeout=60,
                )
                with lock:
                    results.append(r)

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = [r.status_code for r in results]
        assert set(codes) <= {200, 503} and codes.count(200) >= 2 and codes.count(503) >= 1
        shed = [r for r in results if r.status_code == 503]
        assert all(r.headers["retry-after"] == "1" for r in shed)
        assert {r.json()["error"] for r in shed} <= {"overloaded", "timeout"}
        assert httpx.get(d.url + "/healthz").status_code == 200
    finally:
        assert d.stop() == 0


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header that claims a huge image, with a tiny (bogus) body."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _png_chunk(b"IEND", b"")
    )


def png_bomb(side: int = 10_000) -> bytes:
    """side x side of zeros: a few hundred kB that would inflate to 300 MB."""
    z = zlib.compressobj(1)
    row = b"\0" * (1 + side * 3)
    raw = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", raw)
        + _png_chunk(b"IEND", b"")
    )


def encoded(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@functools.cache
def hostile_corpus() -> dict[str, bytes]:
    bars = Image.fromarray(colour_bars(120, 160))
    exif = Image.Exif()
    exif[0x0112] = 8
    wild_exif = Image.Exif()
    wild_exif[0x0112] = 65535
    frames = [Image.new("RGB", (32, 24), c) for c in ("red", "blue")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    webp = io.BytesIO()
    frames[0].save(webp, "WEBP", save_all=True, append_images=frames[1:])
    jpeg = encoded(bars, "JPEG")
    return {
        "truncated-jpeg": jpeg[: len(jpeg) // 2],
        "truncated-png": encoded(bars, "PNG")[:300],
        "png-bomb": png_bomb(),
        "header-100k-x-100k": png_claiming(100_000, 100_000),
        "zero-bytes": b"",
        "text": b"GET / HTTP/1.1\r\nHost: evil\r\n\r\n",
        "polyglot": jpeg + b"<html><script>alert(1)</script></html>" + encoded(bars, "PNG"),
        "exif-rotate-90": encoded(bars, "JPEG", exif=exif.tobytes()),
        "exif-orientation-65535": encoded(bars, "JPEG", exif=wild_exif.tobytes()),
        "cmyk-jpeg": encoded(bars.convert("CMYK"), "JPEG"),
        "16-bit-png": encoded(Image.fromarray(np.full((24, 32), 40000, np.uint16)), "PNG"),
        "grayscale": encoded(bars.convert("L"), "PNG"),
        "alpha": encoded(bars.convert("RGBA"), "PNG"),
        "animated-gif": gif.getvalue(),
        "animated-webp": webp.getvalue(),
        "one-pixel": encoded(Image.new("RGB", (1, 1)), "PNG"),
    }


@pytest.mark.parametrize("name", list(hostile_corpus()))
def test_hostile_files_get_4xx_or_a_correct_200(daemon: Daemon, name: str):
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
