from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import zoo

from edge_runtime.cli.main import main


def test_inspect_json_reports_tensors_ops_and_sparsity(
    zoo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = zoo_dir / "float_io_int8_weights.tflite"
    assert main(["inspect", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["size_bytes"] == path.stat().st_size
    assert info["inputs"][0]["shape"] == [1, 96, 128, 3]
    assert info["outputs"][0]["shape"] == [1, 48, 64, 4]
    assert info["ops"]["CONV_2D"] == 2
    assert "int8" in info["kernel_dtypes"]
    assert info["edgetpu_compiled"] is False
    # 3x3 expansion: 48 of 1,296 weights non-zero. 1x1 head (48 inputs x 4 classes): the
    # 'black' column is all zero, and red/green/blue each read only their own channel.
    head_zeros = 3 * zoo.EXPAND + 3 * 2 * zoo.EXPAND
    expected = (1296 - 48 + head_zeros) / (1296 + 3 * zoo.EXPAND * 4)
    assert info["zero_weight_fraction"] == pytest.approx(expected, abs=1e-6)


def test_inspect_text_mentions_the_manifest(
    zoo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", str(zoo_dir / "deeplab_uint8_argmax.tflite")]) == 0
    out = capsys.readouterr().out
    assert "int64[1, 513, 513]" in out and "ARG_MAX" in out and "manifest: none" in out


def test_inspect_a_non_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.tflite"
    bad.write_text("nope")
    assert main(["inspect", str(bad)]) == 2
    assert "not a TFLite model" in capsys.readouterr().err


def test_doctor_reports_each_component() -> None:
    from edge_runtime.system_info import machine_info

    proc = subprocess.run(
        [sys.executable, "-m", "edge_runtime.cli.main", "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    for what in (
        "interpreter",
        "libedgetpu",
        "Edge TPUs",
        "picamera2",
        "OpenCV",
        "default model",
        "machine",
        "board",
    ):
        assert what in proc.stdout
    assert "ai-edge-litert" in proc.stdout
    assert "[ok] default model unet_mnv2_camvid_int8.tflite (package data)" in proc.stdout
    # An interpreter and the default model: this machine can segment, Coral or not.
    assert proc.returncode == 0, proc.stdout
    # Without an Edge TPU, doctor says how to get one (and that is not a failure).
    if not machine_info()["libedgetpu"]:
        assert "apt install libedgetpu1-std" in proc.stdout
    assert all(len(line) <= 80 for line in proc.stdout.splitlines()), proc.stdout
    assert "Traceback" not in proc.stderr


def test_doctor_on_32_bit_arm_says_to_install_the_64_bit_os(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from edge_runtime.cli import doctor
    from edge_runtime.system_info import machine_info

    info = {**machine_info(), "machine": "armv7l"}
    monkeypatch.setattr(doctor, "machine_info", lambda: info)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "[!!] platform      32-bit Arm (armv7l)" in out
    assert "64-bit Raspberry Pi OS" in " ".join(out.split())
    assert all(len(line) <= 80 for line in out.splitlines()), out


def test_inspect_prints_the_manifest_metrics_readably(default_model: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "edge_runtime.cli.main", "inspect", str(default_model)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = proc.stdout.splitlines()
    manifest = json.loads(default_model.with_suffix(".json").read_text())
    metrics = manifest["metrics"]
    # The default is a train + val refit: its own val score is labelled a training score,
    # and the honest one, its train-only run's, is given beside it.
    assert metrics["val"]["seen_in_training"] is True
    own = next(line for line in lines if line.strip().startswith("val (trained on it): mIoU"))
    assert f"mIoU {metrics['val']['mean_iou']:.2%}" in own
    run = metrics["train_only"]["run"]
    val = next(line for line in lines if line.strip().startswith(f"val, train-only run {run}:"))
    assert "pixel accuracy" in val and "{" not in proc.stdout
    assert any(line.strip().startswith("IoU ") for line in lines)
    assert lines[0].startswith(str(default_model))  # the path as given, however long
    assert all(len(line) <= 80 for line in lines[1:]), lines
    # One parameter count: the manifest's, as /v1/models gives it; mIoU as the card has it.
    assert f"params {manifest['params']:,}" in proc.stdout
    assert f"mIoU {metrics['train_only']['mean_iou']:.2%}" in val
    # LiteRT's "Created TensorFlow Lite XNNPACK delegate" INFO line is not shown.
    assert "XNNPACK" not in proc.stderr and proc.stderr.strip() == ""
