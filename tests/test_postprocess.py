from __future__ import annotations

import numpy as np
import pytest

from edge_runtime.engine import TensorInfo
from edge_runtime.errors import ModelError
from edge_runtime.postprocess import OutputReader, check_kind, infer_kind, to_image_size
from edge_runtime.preprocess import Placement


def out(shape: tuple[int, ...], dtype: str, scale: float = 0.0, zp: int = 0) -> TensorInfo:
    return TensorInfo(1, "out", shape, np.dtype(dtype), scale, zp)


def test_argmax_on_quantized_logits_equals_argmax_on_dequantized() -> None:
    rng = np.random.default_rng(1)
    q = rng.integers(-128, 128, (1, 12, 16, 5), dtype=np.int8)
    t = out(q.shape, "int8", 0.1, -3)
    labels = OutputReader(t, "logits")(q)
    np.testing.assert_array_equal(labels, ((q.astype(float) + 3) * 0.1)[0].argmax(-1))
    assert labels.dtype == np.uint8


def test_probability_threshold_moves_into_the_quantized_domain() -> None:
    t = out((1, 2, 3, 1), "uint8", 1 / 256, 0)
    q = np.array([0, 127, 128, 129, 200, 255], np.uint8).reshape(1, 2, 3, 1)
    labels = OutputReader(t, "probability")(q)
    # 128/256 = 0.5 is not above the threshold; 129/256 is.
    assert labels.reshape(-1).tolist() == [0, 0, 0, 1, 1, 1]
    f = OutputReader(out((1, 2, 2, 1), "float32"), "probability")
    p = np.array([0.49, 0.51, 0.0, 1.0], np.float32).reshape(1, 2, 2, 1)
    assert f(p).tolist() == [[0, 1], [0, 1]]


def test_class_index_outputs_of_any_integer_type() -> None:
    ids = np.array([[0, 5], [20, 3]], np.int64)[None]
    assert OutputReader(out((1, 2, 2), "int64"), "class_index")(ids).tolist() == [[0, 5], [20, 3]]
    keep = ids.astype(np.int32)[..., None]
    r = OutputReader(out((1, 2, 2, 1), "int32"), "class_index")
    assert r(keep).tolist() == [[0, 5], [20, 3]]


@pytest.mark.parametrize(
    ("tensor", "kind"),
    [
        (out((1, 64, 64), "int64"), "class_index"),
        (out((1, 64, 64, 1), "uint8"), "class_index"),  # unquantized: ids
        (out((1, 64, 64, 1), "uint8", 1 / 256, 0), "probability"),
        (out((1, 64, 64, 1), "float32"), "probability"),
        (out((1, 64, 64, 21), "float32"), "logits"),
        (out((1, 64, 64, 2), "int8", 0.1, 0), "logits"),
    ],
)
def test_kind_inferred_from_the_tensor(tensor: TensorInfo, kind: str) -> None:
    assert infer_kind(tensor) == kind


def test_classification_models_are_not_segmentation_models() -> None:
    with pytest.raises(
        ModelError, match=r"not a segmentation model: output 'out' is float32\[1, 1001\]"
    ):
        infer_kind(out((1, 1001), "float32"))


def test_label_count_must_match_the_logits() -> None:
    with pytest.raises(ModelError, match="output has 21 channels but 4 labels"):
        check_kind(out((1, 8, 8, 21), "float32"), "logits", 4)
    with pytest.raises(ModelError, match="a probability output has 1 channel"):
        check_kind(out((1, 8, 8, 2), "float32"), "probability", 2)


def test_resize_back_undoes_the_letterbox() -> None:
    labels = np.zeros((96, 128), np.uint8)
    labels[16:80] = 1  # content rows; borders stay 0
    labels[16:80, 64:] = 2
    placement = Placement((128, 96), (0, 16, 128, 80))
    im = to_image_size(labels, placement, (200, 100))
    got = np.asarray(im)
    assert got.shape == (100, 200)
    assert set(np.unique(got[:, :99])) == {1} and set(np.unique(got[:, 101:])) == {2}


def test_resize_back_from_a_smaller_output() -> None:
    labels = np.array([[0, 1], [2, 3]], np.uint8)
    im = to_image_size(labels, Placement((4, 4), (0, 0, 4, 4)), (4, 4))
    assert np.asarray(im).tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
