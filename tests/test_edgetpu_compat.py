from __future__ import annotations

from pathlib import Path

import pytest
import zoo

from edge_runtime.edgetpu_compat import check_model
from edge_runtime.errors import ModelError


def test_fully_int8_static_model_maps_entirely(zoo_dir: Path) -> None:
    report = check_model(zoo_dir / "unet_uint8_logits.tflite")
    assert report.compatible and report.first_cpu_op is None
    assert report.mapped_ops == len(report.ops) == 3
    assert report.verdict() == "all 3 ops can run on the Edge TPU"


def test_float_model_falls_back_at_its_first_op(zoo_dir: Path) -> None:
    report = check_model(zoo_dir / "deeplab_float_logits.tflite")
    first = report.first_cpu_op
    assert first is not None and first.index == 0 and first.op == "CONV_2D"
    assert "float32, not 8-bit quantized" in first.reason


def test_unsupported_op_is_named(zoo_dir: Path) -> None:
    report = check_model(zoo_dir / "deeplab_uint8_argmax.tflite")
    first = report.first_cpu_op
    assert first is not None and first.op == "ARG_MAX"
    assert report.mapped_ops == 2
    assert "fall back to the CPU from op #2 ARG_MAX" in report.verdict()


def test_dynamic_batch_is_flagged(zoo_dir: Path) -> None:
    report = check_model(zoo_dir / "dynamic_batch_uint8.tflite")  # batch left free
    first = report.first_cpu_op
    assert first is not None
    assert "dynamic shape [-1, 32, 32, 3]" in first.reason
    # The same conv exported with the host's static batch of 1 passes.
    assert check_model(zoo_dir / "static_batch_uint8.tflite").compatible


def test_compiled_models_are_reported_as_such(zoo_dir: Path, tmp_path: Path) -> None:
    compiled = zoo.as_edgetpu_model(zoo_dir / "unet_uint8_logits.tflite", tmp_path / "c.tflite")
    report = check_model(compiled)
    assert report.already_compiled and report.compatible


def test_not_a_model(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_text("nope")
    with pytest.raises(ModelError, match="not a TFLite model"):
        check_model(bad)
