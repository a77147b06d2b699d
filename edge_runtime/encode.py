"""Encoders for results: the label map as an 8-bit palette PNG, overlays as JPEG."""

from __future__ import annotations

import io

from PIL import Image

# Measured on a 640x480 CamVid mask (edge_runtime/bench/png_levels.py; README "Performance"):
# zlib level 1 with the RLE strategy is several times faster than Pillow's default level
# and the file is about the same size, because label maps are long runs of one value.
PNG_COMPRESS_LEVEL = 1
PNG_COMPRESS_TYPE = 3  # zlib Z_RLE
JPEG_QUALITY = 80  # every overlay: uploads and the stream alike (settings: jpeg_quality)
JPEG_MAX_SIDE = 65_500  # libjpeg refuses wider or taller images
OVERLAY_MAX_PIXELS = 8_000_000
OVERLAY_ALPHA = 0.5  # the mask's weight in an overlay, wherever one is drawn


def palette_bytes(palette: list[tuple[int, int, int]] | tuple[tuple[int, int, int], ...]) -> bytes:
    flat = bytearray()
    for rgb in palette[:256]:
        flat.extend(rgb)
    flat.extend(b"\0" * (768 - len(flat)))
    return bytes(flat)


def encode_png(image: Image.Image) -> bytes:
    """PNG of a label image (mode P or L): pixel value = class id."""
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=PNG_COMPRESS_LEVEL, compress_type=PNG_COMPRESS_TYPE)
    return buf.getvalue()


def encode_jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def colorize(label_image: Image.Image) -> Image.Image:
    """RGB colour mask from a palette label image."""
    return label_image.convert("RGB")


def blend(image: Image.Image, label_image: Image.Image, alpha: float) -> Image.Image:
    """The image with the colour mask blended in (``alpha`` = weight of the mask)."""
    out = image.copy()
    _blend_into(out, label_image, alpha)
    return out


def _blend_into(picture: Image.Image, label_image: Image.Image, alpha: float) -> None:
    # Pasting through a constant mask blends in place: one picture-sized buffer fewer
    # than Image.blend, which matters for an 8 MP overlay on a small board.
    if label_image.size != picture.size:
        # Resize the 1-byte labels, not their colours (a 40 MP mask in RGB is 160 MB).
        label_image = label_image.resize(picture.size, Image.Resampling.NEAREST)
    weight = Image.new("L", picture.size, round(alpha * 255))
    picture.paste(colorize(label_image), (0, 0), weight)


def overlay(
    image: Image.Image,
    label_image: Image.Image,
    alpha: float,
    max_pixels: int = OVERLAY_MAX_PIXELS,
) -> Image.Image:
    """:func:`blend`, at a reduced size when the image has more than ``max_pixels`` or a
    side past JPEG's limit (a 1x100000 upload), keeping the aspect ratio. The mask itself
    is never reduced: only this picture of it."""
    w, h = image.size
    scale = min(1.0, (max_pixels / (w * h)) ** 0.5, JPEG_MAX_SIDE / max(w, h))
    if scale >= 1.0:
        return blend(image, label_image, alpha)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    picture = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    _blend_into(picture, label_image, alpha)
    return picture
