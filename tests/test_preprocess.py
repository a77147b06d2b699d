from __future__ import annotations

import numpy as np
import pytest

from edge_runtime.bundle import InputSpec
from edge_runtime.engine import TensorInfo
from edge_runtime.preprocess import InputWriter, build_lut, place


def tensor(dtype: str, scale: float = 0.0, zp: int = 0, h: int = 96, w: int = 128) -> TensorInfo:
    return TensorInfo(0, "image", (1, h, w, 3), np.dtype(dtype), scale, zp)


SPEC = InputSpec(width=128, height=96, mean=(127.5, 127.5, 127.5), std=(127.5, 127.5, 127.5))


def test_lut_matches_the_formula_for_each_input_type() -> None:
    pixels = np.arange(256, dtype=np.float64)
    x = (pixels - 127.5) / 127.5
    np.testing.assert_allclose(build_lut(SPEC, tensor("float32"))[:, 0], x, rtol=1e-6)
    u8 = build_lut(SPEC, tensor("uint8", 1 / 127.5, 128))[:, 0]
    np.testing.assert_array_equal(u8, np.clip(np.round(x * 127.5 + 128), 0, 255))
    i8 = build_lut(SPEC, tensor("int8", 1 / 127.5, 0))[:, 0]
    np.testing.assert_array_equal(i8, np.clip(np.round(x * 127.5), -128, 127))


def test_quantized_and_float_inputs_agree_within_half_a_step() -> None:
    scale, zp = 0.00784314, 127
    float_lut = build_lut(SPEC, tensor("float32")).astype(np.float64)
    q = build_lut(SPEC, tensor("uint8", scale, zp)).astype(np.float64)
    assert np.abs((q - zp) * scale - float_lut).max() <= scale / 2 + 1e-9


def test_saturation_at_the_ends_of_the_integer_range() -> None:
    spec = InputSpec(width=8, height=8, mean=(0, 0, 0), std=(1, 1, 1))
    lut = build_lut(spec, tensor("int8", 1.0, 0, 8, 8))
    assert lut[0, 0] == 0 and lut[127, 0] == 127 and lut[255, 0] == 127


def test_per_channel_normalization() -> None:
    spec = InputSpec(width=8, height=8, mean=(10, 20, 30), std=(1, 2, 4))
    lut = build_lut(spec, tensor("float32", h=8, w=8))
    assert lut[30].tolist() == [20.0, 5.0, 0.0]


def test_letterbox_placement_keeps_the_aspect_ratio() -> None:
    spec = SPEC.model_copy(update={"resize": "letterbox"})
    wide = place((200, 100), spec)
    assert wide.box == (0, 16, 128, 80) and wide.content_size == (128, 64)
    tall = place((100, 200), spec)
    assert tall.box == (40, 0, 88, 96)
    assert place((200, 100), SPEC).full


def test_letterbox_borders_hold_the_value_of_black() -> None:
    spec = SPEC.model_copy(update={"resize": "letterbox"})
    t = tensor("uint8", 1 / 127.5, 128)
    writer = InputWriter(spec, t)
    view = np.full((1, 96, 128, 3), 77, np.uint8)
    placement = place((200, 100), spec)
    writer.write(view, np.full((64, 128, 3), 255, np.uint8), placement)
    assert (view[0, :16] == writer.lut[0]).all() and (view[0, 80:] == writer.lut[0]).all()
    assert (view[0, 16:80] == writer.lut[255]).all()


def test_identity_input_is_copied_as_is() -> None:
    spec = InputSpec(width=4, height=2, mean=(0, 0, 0), std=(1, 1, 1))
    writer = InputWriter(spec, tensor("uint8", h=2, w=4))
    pixels = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    view = np.zeros((1, 2, 4, 3), np.uint8)
    writer.write(view, pixels, place((4, 2), spec))
    np.testing.assert_array_equal(view[0], pixels)


def test_non_image_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match=r"expected an input of shape \[1,H,W,3\]"):
        InputWriter(SPEC, TensorInfo(0, "x", (1, 96, 128), np.dtype("float32"), 0.0, 0))
