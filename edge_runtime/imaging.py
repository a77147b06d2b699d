"""Decoding untrusted image bytes with Pillow: allow-list, pixel limit, EXIF orientation,
JPEG draft decoding. Every failure becomes an ``ImageError`` subclass."""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

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
# Pillow decodes a WebP through libwebp's animation decoder, which holds the canvas, a
# copy of it as bytes and the image: four full-size RGBA buffers (620 MB for 40 MP,
# measured). Fewer pixels keep a WebP within the memory a JPEG or PNG of max_pixels needs.
_DECODE_COPIES = {"WEBP": 4}
_WHY_FEWER = {"WEBP": "decoding one holds four full-size copies"}
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
    min_size: tuple[int, int] | None = None,
    keep_pixels: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: frozenset[str] = ALLOWED_FORMATS,
) -> DecodedImage:
    """Decode, orient and convert to RGB, at no more resolution than the caller needs:
    memory, not only time, scales with the pixels kept (a 40 MP PNG is 160 MB in Pillow).

    ``min_size`` (upright width, height): the picture may shrink by an integer factor as
    long as it stays at least this size (what segmentation alone needs).
    ``keep_pixels``: the picture may shrink to about this many pixels (an overlay): a
    JPEG decodes at the smallest 1/2, 1/4, 1/8 scale that still holds them, so the full
    image is never in memory; other formats decode whole, then shrink by the integer
    factor that brings them to at most ``keep_pixels`` (before any mode conversion).
    Neither: full resolution.
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
    limit = max_pixels // _DECODE_COPIES.get(fmt, 1)
    if width * height > limit:
        why = "" if limit == max_pixels else f" for {fmt} ({_WHY_FEWER[fmt]})"
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height / 1e6:.1f} MP, over the "
            f"{limit / 1e6:g} MP limit{why}"
        )
    _drop_alpha_while_decoding(im)  # before getexif(), which loads a PNG
    try:
        orientation = int(im.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block must not lose the picture
        orientation = 1
    rotated = orientation in (5, 6, 7, 8)
    original = (height, width) if rotated else (width, height)
    jpeg = fmt in ("JPEG", "MPO")
    try:
        if jpeg:
            _draft(im, _smallest_size(im.size, min_size, keep_pixels, rotated))
        im.load()
        im = _fit(im, min_size, keep_pixels, rotated, exact=jpeg)
        im = _to_rgb(im)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImageError(f"corrupt or truncated {fmt} data: {exc}") from exc
    if orientation in _TRANSPOSE:
        im = im.transpose(_TRANSPOSE[orientation])
    return DecodedImage(im, original, fmt)


def peek_pixels(data: bytes) -> int | None:
    """Width x height from the header alone (no pixel data decoded), or None when the
    header does not parse: decoding will say why."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return int(im.width) * int(im.height)
    except Exception:  # any header error is decode_image's to report
        return None


def _drop_alpha_while_decoding(im: Image.Image) -> None:
    """Decode an RGBA PNG straight into RGB (the alpha would be dropped anyway): reducing
    or converting RGBA makes a second full-size copy (+160 MB at 40 MP). Pillow's JPEG
    draft() works the same way, by changing the mode and raw mode before decoding."""
    if not isinstance(im, ImageFile.ImageFile):
        return
    tile = im.tile[0] if len(im.tile) == 1 else None
    if im.format == "PNG" and im.mode == "RGBA" and tile is not None and tile.args == "RGBA":
        im._mode = "RGB"
        im.tile = [tile._replace(args="RGBX")]


def _smallest_size(
    size: tuple[int, int],
    min_size: tuple[int, int] | None,
    keep_pixels: int | None,
    rotated: bool,
) -> tuple[int, int] | None:
    """The smallest stored size the caller can use, or None for the full image."""
    width, height = size
    if min_size is not None:
        return (min_size[1], min_size[0]) if rotated else min_size
    if keep_pixels is not None and width * height > keep_pixels:
        scale = math.sqrt(keep_pixels / (width * height))
        return max(1, int(width * scale)), max(1, int(height * scale))  # at most keep_pixels
    return None


def _draft(im: Image.Image, smallest: tuple[int, int] | None) -> None:
    # libjpeg decodes at 1/2, 1/4 or 1/8 scale: draft() picks the smallest that is at
    # least this size, so the full image is never in memory.
    if smallest and im.width >= 2 * smallest[0] and im.height >= 2 * smallest[1]:
        im.draft("RGB", smallest)


def _fit(
    im: Image.Image,
    min_size: tuple[int, int] | None,
    keep_pixels: int | None,
    rotated: bool,
    *,
    exact: bool,
) -> Image.Image:
    """Shrink a decoded picture to what the caller needs. ``exact``: resize to about
    ``keep_pixels`` (a drafted JPEG, already small); otherwise shrink by the integer
    factor that brings it to at most that, in one pass, so a whole 40 MP image never
    shares memory with a second large buffer."""
    smallest = _smallest_size(im.size, min_size, keep_pixels, rotated)
    if smallest is None:
        return im
    if min_size is None and exact:
        return im.resize(smallest, Image.Resampling.BILINEAR, reducing_gap=3.0)
    if min_size is None:
        factor = math.ceil(math.sqrt(im.width * im.height / max(keep_pixels or 1, 1)))
    else:
        factor = min(im.width // max(smallest[0], 1), im.height // max(smallest[1], 1))
    return _shrink(im, factor) if factor > 1 else im


def _shrink(im: Image.Image, factor: int) -> Image.Image:
    if im.mode in ("RGBA", "LA"):
        # reduce() premultiplies alpha in a full-size copy (+160 MB at 40 MP); the alpha
        # is dropped anyway, so reduce the colour bands one by one.
        bands = im.mode[:-1]
        return Image.merge(bands, [im.getchannel(b).reduce(factor) for b in bands])
    size = (-(-im.width // factor), -(-im.height // factor))  # as reduce(): partial blocks count
    # reduce() is a box filter without a float pass; palette and 16-bit modes need
    # resize() (which falls back to nearest for palettes).
    try:
        return im.reduce(factor)
    except ValueError:
        return im.resize(size, Image.Resampling.BOX)


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
