"""Encoders: palette PNG ids, overlay blending and the reduced overlay picture."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from edge_runtime.encode import (
    JPEG_MAX_SIDE,
    blend,
    encode_jpeg,
    encode_png,
    overlay,
    palette_bytes,
)

PALETTE = [(255, 0, 0), (0, 0, 255)]


def labels(ids: np.ndarray) -> Image.Image:
    img = Image.fromarray(ids.astype(np.uint8), "P")
    img.putpalette(palette_bytes(PALETTE))
    return img


def test_palette_is_768_bytes_padded_and_cut_at_256_colours() -> None:
    assert palette_bytes(PALETTE)[:6] == bytes([255, 0, 0, 0, 0, 255])
    assert len(palette_bytes(PALETTE)) == 768 and set(palette_bytes(PALETTE)[6:]) == {0}
    assert len(palette_bytes([(1, 2, 3)] * 300)) == 768


def test_png_keeps_class_ids_and_the_palette() -> None:
    ids = np.array([[0, 1], [1, 0]])
    with Image.open(io.BytesIO(encode_png(labels(ids)))) as back:
        assert back.mode == "P"
        np.testing.assert_array_equal(np.asarray(back), ids)
        assert back.getpalette()[:6] == [255, 0, 0, 0, 0, 255]


def test_blend_weights_the_mask_by_alpha() -> None:
    grey = Image.new("RGB", (2, 1), (100, 100, 100))
    out = np.asarray(blend(grey, labels(np.array([[0, 1]])), alpha=0.5)).astype(int)
    # paste through a constant mask of round(0.5 * 255) = 128: (colour*128 + grey*127) / 255
    expected = [[[177, 50, 50], [50, 50, 177]]]
    assert np.abs(out - np.array(expected)).max() <= 1
    assert np.asarray(blend(grey, labels(np.array([[0, 1]])), alpha=0.0)).max() == 100


def test_a_smaller_mask_is_stretched_to_the_picture() -> None:
    picture = Image.new("RGB", (4, 2), (0, 0, 0))
    out = np.asarray(blend(picture, labels(np.array([[0, 1]])), alpha=1.0))
    assert (out[:, :2] == (255, 0, 0)).all() and (out[:, 2:] == (0, 0, 255)).all()


def test_overlay_is_reduced_to_the_pixel_budget_keeping_the_aspect() -> None:
    picture = Image.new("RGB", (400, 200))
    mask = labels(np.zeros((200, 400)))
    assert overlay(picture, mask, 0.5, max_pixels=1_000_000).size == (400, 200)
    small = overlay(picture, mask, 0.5, max_pixels=20_000)
    assert small.size == (200, 100)
    strip = Image.new("RGB", (JPEG_MAX_SIDE * 2, 1))
    assert overlay(strip, labels(np.zeros((1, 4))), 0.5).size[0] <= JPEG_MAX_SIDE
    with Image.open(io.BytesIO(encode_jpeg(small, quality=80))) as jpeg:
        assert jpeg.format == "JPEG" and jpeg.size == (200, 100)
