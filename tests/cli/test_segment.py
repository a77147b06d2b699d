from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from zoo import colour_bars

from edge_runtime.cli.main import main


def edge_runtime(*args: str) -> subprocess.CompletedProcess[str]:
    """The real console command, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "edge_runtime.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def bars_png(tmp_path: Path) -> Path:
    path = tmp_path / "bars.png"
    Image.fromarray(colour_bars()).save(path)
    return path


def test_segment_writes_masks_at_the_original_size(
    zoo_dir: Path, bars_png: Path, tmp_path: Path, camvid_val: list[Path]
) -> None:
    out = tmp_path / "out"
    proc = edge_runtime(
        "segment",
        str(bars_png),
        str(camvid_val[0]),
        "--model",
        str(zoo_dir / "unet_float_logits.tflite"),
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    with Image.open(out / "bars.png") as mask:
        assert mask.size == (160, 120) and mask.mode == "P"
        assert set(np.unique(np.asarray(mask))) == {0, 1, 2, 3}
    with Image.open(out / f"{camvid_val[0].stem}.png") as real:
        assert real.size == (480, 360)
    lines = proc.stdout.splitlines()
    assert len(lines) == 4 and lines[0].endswith("bars.png -> " + str(out / "bars.png"))
    # The figures go on their own line: it fits 80 columns, whatever the paths.
    for figures in lines[1::2]:
        assert figures.startswith("  ") and "invoke" in figures and "total" in figures
        assert len(figures) <= 80, figures


def test_segment_overlay_and_json(
    zoo_dir: Path, bars_png: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(zoo_dir / "unet_float_logits.tflite")
    assert (
        main(
            [
                "segment",
                str(bars_png),
                "--model",
                model,
                "--format",
                "overlay",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    with Image.open(tmp_path / "bars.jpg") as overlay:
        assert overlay.size == (160, 120)
    capsys.readouterr()
    assert main(["segment", str(bars_png), "--model", model, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out.strip())
    assert doc["image"] == str(bars_png)
    assert {c["id"] for c in doc["classes"]} == {0, 1, 2, 3}


def test_folders_are_expanded(zoo_dir: Path, bars_png: Path, tmp_path: Path) -> None:
    out = tmp_path / "masks"
    assert (
        main(
            [
                "segment",
                str(bars_png.parent),
                "--model",
                str(zoo_dir / "unet_float_logits.tflite"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert (out / "bars.png").exists()


def test_one_bad_image_does_not_stop_the_others(
    zoo_dir: Path, bars_png: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    out = tmp_path / "out"
    code = main(
        [
            "segment",
            str(text),
            str(tmp_path / "missing.jpg"),
            str(bars_png),
            "--model",
            str(zoo_dir / "unet_float_logits.tflite"),
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert f"{text}: not an image" in err
    assert "missing.jpg: cannot read: No such file or directory" in err
    assert "1 segmented, 2 failed" in err
    assert (out / "bars.png").exists()
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "/nonexistent/model.tflite"], "model not found: /nonexistent/model.tflite"),
        (["--model", "/etc/hostname"], "is not a TFLite model"),
        (["--alpha", "3", "--model", "M"], "--alpha must be between 0 and 1"),
    ],
)
def test_bad_models_and_options_are_one_line_errors(
    bars_png: Path,
    zoo_dir: Path,
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [a if a != "M" else str(zoo_dir / "unet_float_logits.tflite") for a in args]
    assert main(["segment", str(bars_png), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_not_a_segmentation_model(
    zoo_dir: Path, bars_png: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = zoo_dir / "classifier_float32.tflite"
    assert main(["segment", str(bars_png), "--model", str(path)]) == 2
    assert "not a segmentation model" in capsys.readouterr().err


def test_bad_mean_is_rejected_by_the_parser(
    bars_png: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["segment", str(bars_png), "--mean", "1,2"])
    assert exit_info.value.code == 2
    assert "--mean must be one number or three" in capsys.readouterr().err


def test_inputs_sharing_a_stem_keep_both_results(
    zoo_dir: Path, bars_png: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jpg = tmp_path / "bars.jpg"
    with Image.open(bars_png) as im:
        im.convert("RGB").save(jpg, quality=95)
    out = tmp_path / "out"
    model = str(zoo_dir / "unet_float_logits.tflite")
    assert main(["segment", str(bars_png), str(jpg), "--model", model, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["bars_jpg.png", "bars_png.png"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "bars.png").write_bytes(bars_png.read_bytes())
    assert main(["segment", str(bars_png), str(other / "bars.png"), "--model", model]) == 2
    assert "would both be written to bars_png.png" in capsys.readouterr().err


def test_labels_flag_for_a_model_with_a_manifest_warns(
    default_model: Path, bars_png: Path, tmp_path: Path
) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\n")
    proc = edge_runtime(
        "segment",
        str(bars_png),
        "--model",
        str(default_model),
        "--labels",
        str(labels),
        "--mean",
        "0",
        "--out",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 0, proc.stderr
    assert f"--labels {labels} ignored" in proc.stderr
    assert "--mean 0,0,0 overrides the manifest's 127.5,127.5,127.5" in proc.stderr


def test_more_threads_than_cores_is_said_not_refused(
    zoo_dir: Path, bars_png: Path, tmp_path: Path
) -> None:
    from edge_runtime.engine import usable_cores

    too_many = str(usable_cores() + 2)
    proc = edge_runtime(
        "segment", str(bars_png), "--model", str(zoo_dir / "unet_float_logits.tflite"),
        "--threads", too_many, "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"warning: --threads {too_many} is more than the {usable_cores()} core" in proc.stderr
    fine = edge_runtime(
        "segment", str(bars_png), "--model", str(zoo_dir / "unet_float_logits.tflite"),
        "--threads", "1", "--out", str(tmp_path / "out2"),
    )  # fmt: skip
    assert "warning" not in fine.stderr
