from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_runtime.bundle import (
    Manifest,
    default_palette,
    locate_model,
    parse_channels,
    read_labels,
    read_manifest,
    sha256_file,
)
from edge_runtime.errors import ManifestError, ModelError


def manifest_doc(model: Path, **changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "schema_version": 1,
        "name": "bars",
        "version": "1.0.0",
        "task": "semantic_segmentation",
        "labels": ["black", "red", "green", "blue"],
        "palette": [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]],
        "input": {"width": 128, "height": 96, "mean": [127.5] * 3, "std": [127.5] * 3},
        "output": {"kind": "logits"},
        "sha256": sha256_file(model),
    }
    doc.update(changes)
    return doc


def with_manifest(zoo_dir: Path, tmp_path: Path, **changes: object) -> Path:
    model = tmp_path / "bars.tflite"
    model.write_bytes((zoo_dir / "unet_uint8_logits.tflite").read_bytes())
    model.with_suffix(".json").write_text(json.dumps(manifest_doc(model, **changes)))
    return model


def test_manifest_found_beside_the_model_and_from_its_json_path(
    zoo_dir: Path, tmp_path: Path
) -> None:
    model = with_manifest(zoo_dir, tmp_path)
    for path in (model, model.with_suffix(".json")):
        found = locate_model(path)
        assert found.path == model
        assert found.manifest is not None
        assert found.manifest.labels == ["black", "red", "green", "blue"]
        assert found.manifest.input.resize == "stretch"


def test_bare_model_has_no_manifest(zoo_dir: Path) -> None:
    found = locate_model(zoo_dir / "deeplab_float_logits.tflite")
    assert found.manifest is None


def test_sha256_mismatch_is_refused(zoo_dir: Path, tmp_path: Path) -> None:
    model = with_manifest(zoo_dir, tmp_path, sha256="0" * 64)
    with pytest.raises(ManifestError, match="does not match its manifest"):
        locate_model(model)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"palette": [[0, 0, 0]]}, "1 palette colours for 4 labels"),
        ({"palette": [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 300]]}, "outside 0..255"),
        ({"schema_version": 2}, "schema_version"),
        ({"task": "detection"}, "task"),
        ({"output": {"kind": "boxes"}}, "output.kind"),
        ({"labels": []}, "labels"),
        ({"input": {"width": 128, "height": 96, "std": [0, 1, 1]}}, "std must not be 0"),
        ({"output": {"kind": "probability"}}, "probability output has 2 labels"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_manifests_name_the_field(
    zoo_dir: Path, tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    model = with_manifest(zoo_dir, tmp_path, **changes)
    with pytest.raises(ManifestError, match=message):
        locate_model(model)


def test_manifest_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        read_manifest(path)


def test_missing_and_non_tflite_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model not found"):
        locate_model(tmp_path / "nope.tflite")
    text = tmp_path / "fake.tflite"
    text.write_text("hello, not a model")
    with pytest.raises(ModelError, match="not a TFLite model"):
        locate_model(text)


def test_manifest_round_trips_through_the_schema(zoo_dir: Path) -> None:
    doc = manifest_doc(zoo_dir / "unet_uint8_logits.tflite", metrics={"miou": 0.5})
    m = Manifest.model_validate(doc)
    assert Manifest.model_validate(m.model_dump(mode="json")) == m


def test_labels_file_formats(tmp_path: Path) -> None:
    plain = tmp_path / "a.txt"
    plain.write_text("background\nperson\n\ncar\n")
    assert read_labels(plain) == ["background", "person", "car"]
    numbered = tmp_path / "b.txt"
    numbered.write_text("0 background\n1: person\n2 traffic light\n")
    assert read_labels(numbered) == ["background", "person", "traffic light"]
    empty = tmp_path / "c.txt"
    empty.write_text("\n")
    with pytest.raises(ModelError, match="empty"):
        read_labels(empty)


def test_channels_parse_one_or_three_values() -> None:
    assert parse_channels("127.5", "--mean") == (127.5, 127.5, 127.5)
    assert parse_channels("1,2,3", "--mean") == (1.0, 2.0, 3.0)
    for bad in ("1,2", "a", "1,2,3,4"):
        with pytest.raises(ValueError, match="--mean must be one number or three"):
            parse_channels(bad, "--mean")


def test_default_palette_is_pascal_voc() -> None:
    assert default_palette(4) == [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)]
    assert len(set(default_palette(256))) == 256


def test_a_refits_honest_val_is_its_train_only_runs(zoo_dir: Path) -> None:
    model = zoo_dir / "unet_uint8_logits.tflite"
    held_out, seen = {"mean_iou": 0.7}, {"mean_iou": 0.75, "seen_in_training": True}
    chosen = {"mean_iou": 0.7, "run": "x_kd"}

    def honest(metrics: object) -> tuple[dict, bool]:
        return Manifest.model_validate(manifest_doc(model, metrics=metrics)).honest_val()

    assert honest({"val": held_out}) == (held_out, False)
    assert honest({"val": seen, "train_only": chosen}) == (chosen, True)
    assert honest({"val": seen}) == (seen, False)  # its train-only run not exported: own only
    assert honest(None) == ({}, False)
