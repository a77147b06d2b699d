"""Shared checks for the tests: independent references (plain numpy), the stage names
every timing report carries, and helpers that read model files. Not a test module: tests
import from here, never from each other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from edge_runtime.contours import Polygon
from edge_runtime.litert import make_interpreter
from edge_runtime.pipeline import Pipeline
from edge_runtime.zones import rasterize

# The stage names every timing report must carry (JSON, Server-Timing, edge-bench).
STAGES = {"decode", "preprocess", "invoke", "postprocess", "encode", "total"}


def expected_bars(height: int, width: int) -> np.ndarray:
    ids = np.zeros((height, width), np.uint8)
    for k in range(4):
        ids[:, k * width // 4 : (k + 1) * width // 4] = k
    return ids


def most_values_per_channel(model: Path) -> dict[str, int]:
    """For each conv kernel of a .tflite: the most distinct integers any output channel holds
    (a clustered model keeps <= clusters + 1 per channel through per-channel INT8 scales)."""
    from edge_runtime.tflite_graph import read_graph

    return {
        tensor.name: max(len(np.unique(c)) for c in values.reshape(values.shape[0], -1))
        for tensor, values in read_graph(model).kernel_tensors()
    }


def paint(polygons: list[Polygon], width: int, height: int) -> np.ndarray:
    """The pixels a class's polygons cover (centre inside the exterior, not in a hole)."""
    mask = np.zeros((height, width), bool)
    for poly in polygons:
        for ring in [poly["exterior"], *poly["holes"]]:
            mask ^= rasterize([(x / width, y / height) for x, y in ring], width, height)
    return mask


def numpy_reference(model: Path, image: Image.Image, mean: float, std: float) -> np.ndarray:
    """Plain numpy: normalize, quantize, invoke, dequantize, argmax, nearest upsample.
    Only the resize to the input size uses the image library, as the pipeline does."""
    interp = make_interpreter(str(model))
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    _, h, w, _ = inp["shape"]
    resized = image.resize((w, h), Image.Resampling.BILINEAR, reducing_gap=3.0)
    x = (np.asarray(resized, np.float64) - mean) / std
    scale, zp = inp["quantization"]
    if scale:
        info = np.iinfo(inp["dtype"])
        x = np.clip(np.round(x / scale + zp), info.min, info.max)
    interp.set_tensor(inp["index"], x.astype(inp["dtype"])[None])
    interp.invoke()
    y = interp.get_tensor(out["index"])[0].astype(np.float64)
    oscale, ozp = out["quantization"]
    if oscale:
        y = (y - ozp) * oscale
    pred = y.argmax(-1)
    oh, ow = pred.shape
    rows = np.minimum(((np.arange(image.height) + 0.5) * oh / image.height).astype(int), oh - 1)
    cols = np.minimum(((np.arange(image.width) + 0.5) * ow / image.width).astype(int), ow - 1)
    return pred[rows][:, cols].astype(np.uint8)


def golden_check(model: Path, images: list[Path], mean: float, std: float) -> float:
    pipe = Pipeline.open(model)
    same = total = 0
    for path in images:
        with Image.open(path) as im:
            ref = numpy_reference(model, im.convert("RGB"), mean, std)
        got = pipe.segment(path.read_bytes()).label_map
        assert got.shape == ref.shape
        same += int((got == ref).sum())
        total += ref.size
    return same / total


def camvid_data(root: Path, labels: list[str], **more: object) -> dict[str, object]:
    """A training config's ``data`` section on the CamVid folders under ``root``."""
    return {
        "name": "CamVid",
        "train_images": root / "camvid/train",
        "train_masks": root / "camvid/trainannot",
        "val_images": root / "camvid/val",
        "val_masks": root / "camvid/valannot",
        "labels": labels,
        "palette": [[i * 20 % 256, 0, 0] for i in range(len(labels))],
        **more,
    }
