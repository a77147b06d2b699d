"""A corpus of hostile uploads (used by the tests and by bench/run.py's figures)."""

from __future__ import annotations

import functools
import io
import struct
import zlib

import numpy as np
from PIL import Image


def colour_bars(height: int = 120, width: int = 160) -> np.ndarray:
    """Four vertical bars in the reference colours (black, red, green, blue): what the
    tests' models segment, and the base of the hostile images."""
    img = np.zeros((height, width, 3), np.uint8)
    for k, c in enumerate([(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        img[:, k * width // 4 : (k + 1) * width // 4] = c
    return img


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
