from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from zoo import colour_bars

from edge_runtime.errors import CorruptImageError, ImageTooLargeError, UnsupportedImageError
from edge_runtime.imaging import MAX_JPEG_SCANS, decode_image, image_from_array


def encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "WEBP", "TIFF"])
def test_allowed_formats_decode_to_rgb(fmt: str) -> None:
    im = Image.fromarray(colour_bars())
    out = decode_image(encode(im, fmt))
    assert out.format == fmt
    assert out.image.mode == "RGB"
    assert out.image.size == out.original_size == (160, 120)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_orientation_is_applied(orientation: int) -> None:
    upright = Image.fromarray(colour_bars())
    # Store the pixels so that applying the EXIF orientation gives the upright picture.
    inverse = {
        1: None,
        3: Image.Transpose.ROTATE_180,
        6: Image.Transpose.ROTATE_90,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    stored = upright.transpose(inverse) if inverse is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = decode_image(encode(stored, "PNG", exif=exif.tobytes()))
    assert out.original_size == (160, 120)
    np.testing.assert_array_equal(np.asarray(out.image), colour_bars())


def test_draft_decoding_shrinks_big_jpegs_but_keeps_the_original_size() -> None:
    big = Image.fromarray(colour_bars(1500, 2000))
    data = encode(big, "JPEG", quality=90)
    full = decode_image(data)
    draft = decode_image(data, min_size=(128, 96))
    assert full.image.size == (2000, 1500)
    assert draft.original_size == (2000, 1500)
    assert 128 <= draft.image.width <= 500 and 96 <= draft.image.height <= 375
    # Small images are never drafted.
    small = decode_image(encode(Image.fromarray(colour_bars()), "JPEG"), min_size=(128, 96))
    assert small.image.size == (160, 120)


BIG = Image.fromarray(colour_bars(900, 1200))
GREY = np.asarray(BIG.convert("L"))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("PNG RGB", encode(BIG, "PNG")),
        ("PNG RGBA", encode(BIG.convert("RGBA"), "PNG")),
        ("PNG palette", encode(BIG.quantize(16), "PNG")),
        ("PNG 16-bit grey", encode(Image.fromarray(GREY.astype(np.uint16) * 257), "PNG")),
        ("TIFF float", encode(Image.fromarray(GREY.astype(np.float32)), "TIFF")),
        ("WEBP", encode(BIG, "WEBP", lossless=True)),
    ],
)
def test_other_formats_shrink_by_an_integer_factor_before_conversion(
    name: str, data: bytes
) -> None:
    full = decode_image(data)
    for kw, size in [
        ({"min_size": (128, 96)}, (134, 100)),  # 1/9, still >= 128x96
        ({"keep_pixels": 100_000}, (300, 225)),  # 1/4: at most 100,000 pixels
    ]:
        out = decode_image(data, **kw)  # type: ignore[arg-type]
        assert out.image.size == size, (name, kw)
        assert out.original_size == (1200, 900)
        assert out.image.mode == "RGB"
        # The same picture, box-filtered: colour bars survive within a few levels away
        # from the bar edges.
        reference = np.asarray(full.image.resize(size, Image.Resampling.BOX), dtype=int)
        diff = np.abs(np.asarray(out.image, dtype=int) - reference)
        assert np.median(diff) <= 2, (name, kw)


def test_a_rotated_jpeg_keeps_enough_pixels_on_both_upright_sides() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 2000x1500, shown 1500x2000
    data = encode(Image.fromarray(colour_bars(1500, 2000)), "JPEG", exif=exif.tobytes())
    out = decode_image(data, min_size=(300, 400))
    assert out.original_size == (1500, 2000)
    assert out.image.width >= 300 and out.image.height >= 400
    assert out.image.width < 1500


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", UnsupportedImageError, "empty body"),
        (b"hello, I am text, not a picture", UnsupportedImageError, "not an image"),
        (encode(Image.new("RGB", (8, 8)), "GIF"), UnsupportedImageError, "GIF images are not"),
        (encode(Image.fromarray(colour_bars()), "JPEG")[:300], CorruptImageError, "(?i)truncated"),
        (
            encode(Image.fromarray(colour_bars(480, 640)), "JPEG")[:-900],
            CorruptImageError,
            "corrupt or truncated JPEG data",
        ),
        (encode(Image.fromarray(colour_bars()), "PNG")[:200], CorruptImageError, "PNG"),
    ],
)
def test_bad_images_raise_specific_errors(data: bytes, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        decode_image(data)


def test_pixel_limit_is_checked_from_the_header() -> None:
    data = encode(Image.new("L", (4000, 3000)), "PNG")
    with pytest.raises(ImageTooLargeError, match=r"12\.0 MP, over the 10 MP limit"):
        decode_image(data, max_pixels=10_000_000)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("L", (32, 24), 200),
        Image.new("RGBA", (32, 24), (200, 200, 200, 128)),
        Image.new("CMYK", (32, 24), (0, 0, 0, 55)),
        Image.new("P", (32, 24), 3),
        Image.fromarray(np.full((24, 32), 200 * 256, np.uint16)),
    ],
    ids=["grey", "alpha", "cmyk", "palette", "16-bit"],
)
def test_other_modes_become_rgb(image: Image.Image) -> None:
    fmt = "JPEG" if image.mode == "CMYK" else "PNG" if image.mode != "CMYK" else "TIFF"
    out = decode_image(encode(image, fmt))
    assert out.image.mode == "RGB" and out.image.size == (32, 24)
    if image.mode in ("L", "I;16"):
        assert np.asarray(out.image)[0, 0].tolist() == [200, 200, 200]


def test_frames_from_arrays() -> None:
    assert image_from_array(colour_bars()).size == (160, 120)
    rgba = np.zeros((4, 5, 4), np.uint8)
    assert image_from_array(rgba).mode == "RGB"
    with pytest.raises(UnsupportedImageError, match="expected an HxWx3 uint8"):
        image_from_array(np.zeros((4, 5), np.float32))


def _progressive_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(buf, "JPEG", progressive=True)
    return buf.getvalue()


def test_a_progressive_jpeg_with_too_many_scans_is_refused_before_decoding() -> None:
    normal = _progressive_jpeg()
    assert normal.count(b"\xff\xda") < MAX_JPEG_SCANS
    assert decode_image(normal).image.size == (64, 48)
    empty_scan = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"  # SOS header, no data
    bomb = normal[:-2] + empty_scan * 1500 + b"\xff\xd9"
    with pytest.raises(ImageTooLargeError, match="JPEG with 1510 scans, over the 100"):
        decode_image(bomb)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\xff\xd8",
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
    ],
    ids=["png-cut-after-signature", "bare-jpeg-start", "jpeg-cut-in-app0"],
)
def test_a_cut_header_of_a_known_format_is_corrupt_not_unsupported(data: bytes) -> None:
    with pytest.raises(CorruptImageError):
        decode_image(data)


def test_pillows_bomb_limit_is_reported_as_ours() -> None:
    wide = io.BytesIO()
    Image.new("1", (20_000, 10_000)).save(wide, "PNG")  # 200 MP, a few kB
    with pytest.raises(ImageTooLargeError, match="over the 40 MP limit"):
        decode_image(wide.getvalue())


def test_an_rgba_png_decodes_as_its_rgb_bands() -> None:
    rgba = np.dstack([colour_bars(), np.linspace(0, 255, 120 * 160).reshape(120, 160)])
    data = encode(Image.fromarray(rgba.astype(np.uint8), "RGBA"), "PNG")
    out = decode_image(data)
    assert out.image.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(out.image), colour_bars())


def test_webp_has_a_quarter_of_the_pixel_limit() -> None:
    data = encode(Image.fromarray(colour_bars()), "WEBP")  # 160x120 = 19,200 pixels
    assert decode_image(data, max_pixels=80_000).image.size == (160, 120)
    with pytest.raises(ImageTooLargeError, match=r"over the 0\.01 MP limit for WEBP .*four"):
        decode_image(data, max_pixels=40_000)
    # The same pixels as a PNG are within the limit.
    assert decode_image(encode(Image.fromarray(colour_bars()), "PNG"), max_pixels=40_000)
