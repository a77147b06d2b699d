"""edge-bench's numbers: plumbing and consistency, never speed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import zoo
from checks import STAGES
from PIL import Image

from edge_runtime.cli.bench import main
from edge_runtime.pipeline import SEGMENT_ONLY, Pipeline


@pytest.fixture(scope="module")
def report(
    zoo_dir: Path, camvid_val: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict, Path]:
    """Two models, two thread counts, real images with masks the int8 model itself made."""
    root = tmp_path_factory.mktemp("bench")
    images, masks = root / "images", root / "masks"
    images.mkdir()
    masks.mkdir()
    # What its export would have measured on x86-64 (the board compares itself with it).
    export_val = {"mean_iou": 0.625, "images": 101, "split": "camvid/val"}
    model = zoo.bundle(zoo_dir, root, "unet_uint8_logits", metrics={"val": export_val})
    pipe = Pipeline.open(model)
    for p in camvid_val[:6]:
        shutil.copy(p, images / p.name)
        Image.fromarray(pipe.segment(p.read_bytes(), keep_pixels=SEGMENT_ONLY).label_map).save(
            masks / p.name
        )
    out = root / "out"
    code = main(
        [
            str(model),
            str(zoo_dir / "float_io_int8_weights.tflite"),
            "--threads",
            "1,2",
            "--runs",
            "20",
            "--warmup",
            "2",
            "--images",
            str(images),
            "--masks",
            str(masks),
            "--out",
            str(out),
            "--plot",
            "--format",
            "json",
        ]
    )
    assert code == 0
    return json.loads((out / "report.json").read_text()), out


def test_report_keys_and_ordering(report: tuple[dict, Path]) -> None:
    doc, _ = report
    assert doc["schema"] == "edge-bench/1"
    for key in ("cpu", "cores", "python", "runtime", "runtime_version", "numpy", "libedgetpu"):
        assert key in doc["machine"]
    assert [len(m["runs"]) for m in doc["models"]] == [2, 2]
    for m in doc["models"]:
        for r in m["runs"]:
            inv = r["invoke_ms"]
            assert inv["count"] == 20
            assert inv["min"] <= inv["p50"] <= inv["p90"] <= inv["p99"] <= inv["max"]
            assert r["throughput_fps"] == pytest.approx(1000 / inv["mean"])
            mem = r["memory"]
            assert 0 < mem["rss_before_load_mb"] <= mem["peak_rss_mb"]
            assert mem["rss_after_load_mb"] <= mem["peak_rss_mb"]
            assert r["init_ms"] > 0 and r["first_invoke_ms"] > 0
            stages = r["pipeline"]["stages_ms"]
            assert set(stages) == STAGES
            assert r["pipeline"]["total_over_invoke"] >= 1
        assert [r["threads"] for r in m["runs"]] == [1, 2]


def test_sizes_sparsity_and_macs_come_from_the_files(
    report: tuple[dict, Path], zoo_dir: Path
) -> None:
    doc, _ = report
    int8, dynamic = doc["models"]
    assert dynamic["size_bytes"] == (zoo_dir / "float_io_int8_weights.tflite").stat().st_size
    assert 0 < dynamic["gzip_bytes"] < dynamic["size_bytes"]
    # Known zeros: 48 of the 1,296 expansion weights are non-zero; the 1x1 head has 144
    # zeros of 192 (see tests/cli/test_inspect_doctor.py).
    assert dynamic["zero_weight_fraction"] == pytest.approx((1248 + 144) / (1296 + 192))
    # MACs by hand: 3x3 conv 3->48 and 1x1 conv 48->4, both on a 48x64 output.
    assert dynamic["macs"] == 48 * 64 * 48 * 3 * 3 * 3 + 48 * 64 * 4 * 48
    assert int8["edgetpu"]["compatible"] is True and dynamic["edgetpu"]["compatible"] is False


def test_accuracy_against_its_own_predictions_is_perfect(report: tuple[dict, Path]) -> None:
    doc, _ = report
    acc = doc["models"][0]["accuracy"]
    assert acc["images"] == 6
    assert acc["mean_iou"] == 1.0 and acc["pixel_accuracy"] == 1.0


def test_accuracy_is_set_beside_what_the_export_measured(report: tuple[dict, Path]) -> None:
    doc, out = report
    with_manifest, without = doc["models"]
    expected = {"mean_iou": 0.625, "images": 101, "split": "camvid/val"}
    assert with_manifest["manifest_val"] == {**expected, "seen_in_training": False}
    assert "manifest_val" not in without
    md = (out / "report.md").read_text()
    line = next(x for x in md.splitlines() if "at export on x86-64" in x)
    assert line.startswith("- unet_uint8_logits: mIoU 100.00% here on 6 images; 62.50%")
    assert "(101 frames of camvid/val); +37.50 points" in line


def test_markdown_and_plots_are_written(report: tuple[dict, Path]) -> None:
    _, out = report
    md = (out / "report.md").read_text()
    assert "| model | threads |" in md and "unet_uint8_logits" in md
    for name in ("latency.png", "miou_vs_latency.png"):
        with Image.open(out / name) as im:
            assert im.size[0] > 200


def test_labels_of_models_on_one_spot_do_not_overlap() -> None:
    """A float32 model and its INT8 twin often plot at nearly one point: each label moves
    until it overlaps none drawn before it."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edge_runtime.bench.report import place_labels

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    xy = [(6.7, 0.688), (6.9, 0.687), (10.2, 0.687), (16.2, 0.6975), (26.5, 0.702)]
    ax.scatter(*zip(*xy, strict=True))
    ax.autoscale_view()
    names = ["unet_mnv2_camvid_fast_int8", "unet_mnv2_camvid_fast_dynamic", "x_float32", "y", "z"]
    boxes = place_labels(ax, list(zip(names, xy, strict=True)))
    assert len(boxes) == len(xy)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    assert [t.get_text() for t in ax.texts] == names  # one label a point, none left behind
    plt.close(fig)


def test_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope.tflite")]) == 2
    assert "model not found" in capsys.readouterr().err
    assert main([str(tmp_path / "x.tflite"), "--plot"]) == 2
    assert "--plot needs --out" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["m.tflite", "--threads", "0"])


def test_piped_output_is_one_block_per_model_within_80_columns(report: tuple[dict, Path]) -> None:
    import io

    from edge_runtime.bench.report import TERMINAL_COLUMNS, print_table

    doc, _ = report
    out = io.StringIO()  # not a terminal: what `edge-bench ... | less` gets
    print_table(doc, file=out)
    lines = out.getvalue().splitlines()
    assert lines and all(len(line) <= 80 for line in lines), lines
    headers = [line for line in lines if not line.startswith(" ")]
    assert len(headers) == sum(len(m["runs"]) for m in doc["models"])  # model x threads
    figures = [line.strip() for line in lines if line.startswith("  ")]
    assert any(f.startswith("p50 ms ") for f in figures)
    assert all(any(f.startswith(c + " ") for c in TERMINAL_COLUMNS[2:]) for f in figures)


def test_plot_without_matplotlib_is_refused_before_the_run(
    zoo_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import edge_runtime.bench.report as report_module

    monkeypatch.setattr(report_module, "plot_available", lambda: False)
    model = str(zoo_dir / "float_io_int8_weights.tflite")
    assert main([model, "--plot", "--out", str(tmp_path / "o"), "--runs", "5"]) == 2
    assert "--plot needs matplotlib: pip install -e '.[bench]'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing ran


def own_masks(model: Path, frames: list[Path], images: Path, masks: Path) -> None:
    """Copy ``frames`` into ``images`` with the masks ``model`` itself makes (mIoU 1.0)."""
    pipe = Pipeline.open(model)
    for p in frames:
        shutil.copy(p, images / p.name)
        label_map = pipe.segment(p.read_bytes(), keep_pixels=SEGMENT_ONLY).label_map
        Image.fromarray(label_map).save(masks / p.name)


def test_a_model_of_other_labels_is_not_scored_on_these_masks(
    zoo_dir: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    """Masks are one data set (the first model's labels): a model of other labels keeps its
    export's val mIoU, said so in the report and drawn hollow on the plot."""
    images, masks, other = tmp_path / "images", tmp_path / "masks", tmp_path / "other"
    for d in (images, masks, other):
        d.mkdir()
    first = zoo.bundle(zoo_dir, tmp_path, "unet_uint8_logits")
    export_val = {"mean_iou": 0.3, "images": 164, "split": "coco/val2017"}
    second = zoo.bundle(
        zoo_dir,
        other,
        "unet_uint8_logits",
        labels=["w", "x", "y", "z"],
        metrics={"val": export_val},
    )
    second = second.rename(other / "coco_like.tflite")
    second.with_name("unet_uint8_logits.json").rename(other / "coco_like.json")
    own_masks(first, camvid_val[:2], images, masks)
    out = tmp_path / "out"
    argv = [str(first), str(second), "--threads", "1", "--runs", "2", "--warmup", "0"]
    argv += ["--images", str(images), "--masks", str(masks), "--out", str(out), "--plot"]
    assert main([*argv, "--format", "json"]) == 0
    scored, skipped = json.loads((out / "report.json").read_text())["models"]
    assert scored["accuracy"]["mean_iou"] == 1.0 and "accuracy_skipped" not in scored
    assert skipped["accuracy"] is None
    assert skipped["accuracy_skipped"] == (
        "not scored on these masks: its 4 labels are not unet_uint8_logits's 4 (another data set)"
    )
    md = (out / "report.md").read_text()
    assert "its export's val mIoU: 30.00% (164 frames of coco/val2017, x86-64)" in md
    # Per class, only the scored model: a column of its own, one row per class it has.
    lines = md.splitlines()
    head = lines.index("| class | unet_uint8_logits |")
    table = lines[head + 2 : head + 2 + len(scored["accuracy"]["per_class_iou"])]
    for row, (name, iou) in zip(table, scored["accuracy"]["per_class_iou"].items(), strict=True):
        assert row == f"| {name} | {'–' if iou is None else f'{iou:.3f}'} |"
    with Image.open(out / "miou_vs_latency.png") as im:
        assert im.size[0] > 200


def test_a_refit_on_val_is_flagged_and_plotted_at_its_train_only_runs_val(
    zoo_dir: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    """A model trained on train + val scores on val frames a training score: the report marks
    it and draws it at the val mIoU of the train-only run that chose its recipe."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    val = {"mean_iou": 0.9, "images": 101, "split": "camvid/val", "seen_in_training": True}
    selection = {"mean_iou": 0.7, "images": 101, "run": "tiny_kd", "trained_on": "train"}
    model = zoo.bundle(
        zoo_dir, tmp_path, "unet_uint8_logits", metrics={"val": val, "train_only": selection}
    )
    own_masks(model, camvid_val[:2], images, masks)
    out = tmp_path / "out"
    argv = [str(model), "--threads", "1", "--runs", "2", "--warmup", "0", "--plot"]
    argv += ["--images", str(images), "--masks", str(masks), "--out", str(out)]
    assert main([*argv, "--format", "json"]) == 0
    (entry,) = json.loads((out / "report.json").read_text())["models"]
    assert entry["manifest_val"]["seen_in_training"] is True
    assert entry["manifest_train_only"] == {"mean_iou": 0.7, "run": "tiny_kd"}
    md = (out / "report.md").read_text()
    assert f"| {entry['accuracy']['mean_iou']:.4f}* |" in md
    assert (
        "- unet_uint8_logits: * trained on val (a train + val refit): its mIoU on val frames is "
        "a training score; its train-only run's (tiny_kd): 70.00%" in md
    )
    with Image.open(out / "miou_vs_latency.png") as im:
        assert im.size[0] > 200
