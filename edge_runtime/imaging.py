"""Decoding untrusted image bytes with Pillow: allow-list, pixel limit, EXIF orientation,
JPEG draft decoding. Every failure becomes an ``ImageError`` subclass."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from edge_runtime.errors import CorruptImageError, ImageTooLargeError, UnsupportedImageError

# MPO is the multi-picture JPEG that many phone cameras write.
ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "BMP", "WEBP", "TIFF"})
DEFAULT_MAX_PIXELS = 40_000_000
# A progressive JPEG has about 10 scans; a crafted one with 1,500 empty refinement scans
# took ~20 s of CPU to decode a 282 KiB file. SOS markers cannot occur inside entropy-coded
# data (0xFF is byte-stuffed there), so counting them is exact.
MAX_JPEG_SCANS = 100
_SOS = b"\xff\xda"
# Signatures of the accepted formats: bytes that start like one of them but do not open
# are a corrupt image (400), not "not an image" (415).
_MAGIC = (b"\x89PNG", b"\xff\xd8", b"BM", b"II*\x00", b"MM\x00*", b"RIFF")
_ORIENTATION_TAG = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class DecodedImage:
    """An upright RGB image. ``original_size`` is the upright size of the full image;
    ``image`` may be smaller when JPEG draft decoding was allowed."""

    image: Image.Image
    original_size: tuple[int, int]
    format: str


def decode_image(
    data: bytes,
    *,
    draft_size: tuple[int, int] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: frozenset[str] = ALLOWED_FORMATS,
) -> DecodedImage:
    """Decode, orient and convert to RGB.

    ``draft_size``: when given and the image is a JPEG at least twice that size, let
    libjpeg decode at 1/2, 1/4 or 1/8 scale (never below ``draft_size``).
    Raises ``UnsupportedImageError`` (not an image / format not allowed),
    ``ImageTooLargeError`` (over ``max_pixels``), ``CorruptImageError`` (bad data).
    """
    if not data:
        raise UnsupportedImageError("empty body: expected image bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im: Image.Image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        if data.startswith(_MAGIC):
            raise CorruptImageError(
                "corrupt image: it starts like a known format but its header does not parse"
            ) from exc
        raise UnsupportedImageError(
            f"not an image: no known image header (accepted: {', '.join(sorted(formats))})"
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(
            f"image is over the {max_pixels / 1e6:.0f} MP limit (decompression bomb)"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptImageError(f"corrupt image header: {exc}") from exc
    fmt = im.format or "unknown"
    if fmt not in formats:
        raise UnsupportedImageError(
            f"{fmt} images are not accepted (accepted: {', '.join(sorted(formats))})"
        )
    width, height = im.size
    if width * height == 0:
        raise CorruptImageError(f"corrupt image: {fmt} of {width}x{height} pixels")
    if fmt in ("JPEG", "MPO") and (scans := data.count(_SOS)) > MAX_JPEG_SCANS:
        raise ImageTooLargeError(
            f"JPEG with {scans} scans, over the {MAX_JPEG_SCANS} decoded (a progressive "
            "JPEG has about 10; more only costs CPU)"
        )
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height / 1e6:.1f} MP, over the "
            f"{max_pixels / 1e6:.0f} MP limit"
        )
    try:
        orientation = int(im.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block must not lose the picture
        orientation = 1
    rotated = orientation in (5, 6, 7, 8)
    original = (height, width) if rotated else (width, height)
    try:
        if draft_size and fmt in ("JPEG", "MPO"):
            dw, dh = (draft_size[1], draft_size[0]) if rotated else draft_size
            if width >= 2 * dw and height >= 2 * dh:
                im.draft("RGB", (dw, dh))
        im.load()
        im = _to_rgb(im)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImageError(f"corrupt or truncated {fmt} data: {exc}") from exc
    if orientation in _TRANSPOSE:
        im = im.transpose(_TRANSPOSE[orientation])
    return DecodedImage(im, original, fmt)


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: keep the top byte (Pillow's convert would clip at 255).
        wide = np.asarray(im, dtype=np.uint32) >> 8
        return Image.fromarray(np.minimum(wide, 255).astype(np.uint8), "L").convert("RGB")
    if im.mode == "F":
        return Image.fromarray(np.clip(np.asarray(im), 0, 255).astype(np.uint8)).convert("RGB")
    return im.convert("RGB")


def image_from_array(frame: np.ndarray) -> Image.Image:
    """An RGB ``HxWx3`` uint8 frame (cameras) as a Pillow image."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise UnsupportedImageError(
            f"expected an HxWx3 uint8 RGB frame, got {frame.dtype.name}{list(frame.shape)}"
        )
    return Image.fromarray(frame[..., :3] if frame.shape[2] == 4 else frame, "RGB")
