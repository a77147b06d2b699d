"""The hardening benchmark's inputs are what they claim to be."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from edge_runtime.bench.hardening import big_uploads, scan_bomb
from edge_runtime.errors import ImageTooLargeError
from edge_runtime.imaging import decode_image


def test_big_uploads_are_the_formats_they_name(camvid_val: list[Path]) -> None:
    uploads = big_uploads(camvid_val[0], size=(730, 547))
    expected = {
        "JPEG": ("JPEG", "RGB"),
        "JPEG progressive": ("JPEG", "RGB"),
        "PNG RGB": ("PNG", "RGB"),
        "PNG RGBA": ("PNG", "RGBA"),
        "PNG 16-bit grey": ("PNG", "I;16"),
        "TIFF float32": ("TIFF", "F"),
        "WEBP": ("WEBP", "RGB"),
    }
    assert set(uploads) == set(expected)
    for name, (data, ctype) in uploads.items():
        with Image.open(io.BytesIO(data)) as im:
            assert (im.format, im.mode, im.size) == (*expected[name], (730, 547)), name
            assert ctype == f"image/{im.format.lower()}", name
            assert ("progressive" in im.info) == (name == "JPEG progressive"), name
        assert decode_image(data).image.size == (730, 547)


def test_the_scan_bomb_is_refused_before_decoding() -> None:
    # 1,500 empty scans after the small image's own 10.
    with pytest.raises(ImageTooLargeError, match="JPEG with 1510 scans"):
        decode_image(scan_bomb(1500))
