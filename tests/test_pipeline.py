from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from checks import STAGES, expected_bars, golden_check
from PIL import Image
from zoo import bundle, colour_bars

from edge_runtime.errors import ManifestError, ModelError, UnsupportedImageError
from edge_runtime.options import ModelOptions
from edge_runtime.pipeline import SEGMENT_ONLY, Pipeline

BARS_MODELS = [
    "deeplab_uint8_argmax",
    "deeplab_float_logits",
    "float_io_int8_weights",
    "unet_uint8_logits",
    "unet_float_logits",
]


def interior(ids: np.ndarray, width: int, margin: int = 4) -> np.ndarray:
    """Columns away from the bar edges (resampling blends colours there)."""
    keep = np.ones(ids.shape[1], bool)
    for k in range(1, 4):
        edge = k * width // 4
        keep[max(0, edge - margin) : edge + margin] = False
    return keep


def assert_bars(label_map: np.ndarray) -> None:
    h, w = label_map.shape
    keep = interior(label_map, w)
    np.testing.assert_array_equal(label_map[:, keep], expected_bars(h, w)[:, keep])


@pytest.mark.parametrize("name", BARS_MODELS)
def test_every_layout_segments_the_colour_bars(zoo_dir: Path, name: str) -> None:
    pipe = Pipeline.open(zoo_dir / f"{name}.tflite")
    seg = pipe.segment(colour_bars())
    assert (seg.width, seg.height) == (160, 120)
    assert_bars(seg.label_map)
    assert [c.id for c in seg.classes()] == [0, 1, 2, 3]
    assert sum(c.fraction for c in seg.classes()) == pytest.approx(1.0)


def test_probability_output_marks_the_foreground(zoo_dir: Path) -> None:
    pipe = Pipeline.open(zoo_dir / "unet_int8_probability.tflite")
    assert pipe.spec.labels == ("background", "foreground")
    seg = pipe.segment(colour_bars())
    keep = interior(seg.label_map, 160)
    expected = (expected_bars(120, 160) == 1).astype(np.uint8)  # the red bar
    np.testing.assert_array_equal(seg.label_map[:, keep], expected[:, keep])


def test_bare_model_labels_from_a_file(zoo_dir: Path, tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(["bg", "r", "g", "b"]))
    pipe = Pipeline.open(zoo_dir / "unet_float_logits.tflite", ModelOptions(labels=labels))
    assert [c.name for c in pipe.segment(colour_bars()).classes()] == ["bg", "r", "g", "b"]
    assert pipe.spec.labels[:2] == ("bg", "r")
    with pytest.raises(ModelError, match="output has 4 channels but 2 labels"):
        labels.write_text("a\nb\n")
        Pipeline.open(zoo_dir / "unet_float_logits.tflite", ModelOptions(labels=labels))


def test_bare_model_defaults_and_overrides(zoo_dir: Path) -> None:
    pipe = Pipeline.open(zoo_dir / "deeplab_float_logits.tflite")
    assert pipe.spec.labels[0] == "class_0" and len(pipe.spec.labels) == 21
    assert pipe.spec.input.mean == (0.0, 0.0, 0.0) and pipe.spec.input.std == (255.0,) * 3
    # Wrong normalization on purpose: every pixel looks black → class 0 everywhere.
    dark = Pipeline.open(zoo_dir / "deeplab_float_logits.tflite", ModelOptions(std=1e6))
    assert set(np.unique(dark.segment(colour_bars()).label_map)) == {0}


def test_manifest_drives_the_pipeline(zoo_dir: Path, tmp_path: Path) -> None:
    model = bundle(zoo_dir, tmp_path, "unet_uint8_logits")
    pipe = Pipeline.open(model)
    assert pipe.spec.name == "unet_uint8_logits" and pipe.spec.manifest is not None
    seg = pipe.segment(colour_bars())
    assert [c.name for c in seg.classes()] == ["black", "red", "green", "blue"]
    assert (seg.label_image.getpalette() or [])[:6] == [0, 0, 0, 255, 0, 0]


def test_manifest_that_does_not_match_the_model(zoo_dir: Path, tmp_path: Path) -> None:
    model = bundle(zoo_dir, tmp_path, "unet_uint8_logits", input={"width": 256, "height": 192})
    with pytest.raises(ManifestError, match="manifest input is 256x192 but the model's input"):
        Pipeline.open(model)
    model = bundle(
        zoo_dir, tmp_path, "unet_uint8_logits", labels=["a", "b"], palette=[[0, 0, 0], [1, 1, 1]]
    )
    with pytest.raises(ModelError, match="4 channels but 2 labels"):
        Pipeline.open(model)


def test_letterbox_round_trip(zoo_dir: Path, tmp_path: Path) -> None:
    model = bundle(
        zoo_dir,
        tmp_path,
        "unet_uint8_logits",
        input={
            "width": 128,
            "height": 96,
            "mean": [127.5] * 3,
            "std": [127.5] * 3,
            "resize": "letterbox",
        },
    )
    pipe = Pipeline.open(model)
    wide = colour_bars(100, 240)  # 2.4:1 into 4:3: borders above and below
    seg = pipe.segment(wide)
    assert (seg.width, seg.height) == (240, 100)
    assert_bars(seg.label_map)  # borders were cropped away, bars map back in place


def test_exif_rotated_photo_is_segmented_upright(zoo_dir: Path) -> None:
    pipe = Pipeline.open(zoo_dir / "unet_float_logits.tflite")
    stored = Image.fromarray(colour_bars()).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    seg = pipe.segment(buf.getvalue())
    assert (seg.width, seg.height) == (160, 120)
    assert_bars(seg.label_map)


def test_draft_decoding_keeps_the_mask_at_full_size(zoo_dir: Path) -> None:
    pipe = Pipeline.open(zoo_dir / "unet_float_logits.tflite")
    buf = io.BytesIO()
    Image.fromarray(colour_bars(1200, 1600)).save(buf, "JPEG", quality=95)
    seg = pipe.segment(buf.getvalue(), keep_pixels=SEGMENT_ONLY)
    assert seg.image.width < 1600
    assert (seg.width, seg.height) == (1600, 1200)
    h, w = seg.label_map.shape
    keep = interior(seg.label_map, w, margin=40)
    np.testing.assert_array_equal(seg.label_map[:, keep], expected_bars(h, w)[:, keep])


def test_quantized_and_float_models_agree_on_real_images(
    zoo_dir: Path, camvid_val: list[Path]
) -> None:
    q = Pipeline.open(zoo_dir / "unet_uint8_logits.tflite", ModelOptions(mean=127.5, std=127.5))
    f = Pipeline.open(zoo_dir / "unet_float_logits.tflite")  # bare float: pixel / 255
    agree = total = 0
    for path in camvid_val[:10]:
        data = path.read_bytes()
        a, b = q.segment(data).label_map, f.segment(data).label_map
        agree += int((a == b).sum())
        total += a.size
    # Differences are near-ties between two colours, within the logits' quantization step.
    assert agree / total >= 0.97


def test_encoders(zoo_dir: Path, tmp_path: Path) -> None:
    pipe = Pipeline.open(bundle(zoo_dir, tmp_path, "unet_uint8_logits"))
    seg = pipe.segment(colour_bars())
    mask = pipe.encode(seg, "mask")
    assert mask.content_type == "image/png"
    png = Image.open(io.BytesIO(mask.data))
    assert png.mode == "P" and png.size == (160, 120)
    np.testing.assert_array_equal(np.asarray(png), seg.label_map)  # pixel value = class id
    assert png.convert("RGB").getpixel((60, 60)) == (255, 0, 0)  # palette attached
    overlay = pipe.encode(seg, "overlay", alpha=1.0)
    jpg = Image.open(io.BytesIO(overlay.data))
    assert jpg.format == "JPEG" and jpg.size == (160, 120)
    assert np.abs(np.asarray(jpg)[60, 100].astype(int) - [0, 255, 0]).max() < 16
    js = pipe.encode(seg, "json")
    doc = json.loads(js.data)
    assert doc["width"] == 160 and doc["height"] == 120 and doc["model"] == "unet_uint8_logits"
    assert [c["name"] for c in doc["classes"]] == ["black", "red", "green", "blue"]
    assert set(doc["timings_ms"]) == STAGES
    t = mask.segmentation.timings
    assert t.encode_ms > 0
    assert t.total_ms >= t.invoke_ms + t.encode_ms


def test_threads_share_one_pipeline(zoo_dir: Path, camvid_val: list[Path]) -> None:
    pipe = Pipeline.open(zoo_dir / "unet_uint8_logits.tflite", ModelOptions(threads=1))
    images = [p.read_bytes() for p in camvid_val[:4]]
    expected = [pipe.segment(d).label_map.copy() for d in images]
    got: dict[int, list[np.ndarray]] = {}

    def worker(k: int) -> None:
        got[k] = [pipe.segment(images[k]).label_map for _ in range(5)]

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        for m in got[k]:
            np.testing.assert_array_equal(m, expected[k])


def test_bad_images_leave_the_pipeline_working(zoo_dir: Path) -> None:
    pipe = Pipeline.open(zoo_dir / "unet_float_logits.tflite")
    with pytest.raises(UnsupportedImageError):
        pipe.segment(b"not an image")
    assert_bars(pipe.segment(colour_bars()).label_map)


def test_golden_zoo_model_on_real_images(
    zoo_dir: Path, tmp_path: Path, camvid_val: list[Path]
) -> None:
    model = bundle(zoo_dir, tmp_path, "unet_uint8_logits")
    assert golden_check(model, camvid_val[::10], 127.5, 127.5) == 1.0
