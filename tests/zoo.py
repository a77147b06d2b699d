"""Small real .tflite models in every layout the engine must handle, built with the host
converter. Their weights are set by hand so that the right answer is known:
each is a *colour segmenter* — a pixel's class is the nearest of a few reference colours.

They are committed under ``tests/fixtures/zoo/`` (about 20 KB), so the device tests need
no TensorFlow; ``tests/host/test_zoo.py`` rebuilds them with TensorFlow and checks that
the committed files still behave the same. Regenerate: ``python tests/zoo.py``.

Layouts (what segmentation models found in the wild look like):
- ``deeplab_uint8_argmax``: uint8 513x513 input, in-graph ArgMax with int64 output
  (DeepLabv3 on the Edge TPU model zoo).
- ``deeplab_float_logits``: float 257x257 input, 21-class float logits (DeepLab float).
- ``unet_int8_probability``: int8 I/O, one-channel foreground probability (person U-Nets).
- ``float_io_int8_weights``: float I/O with int8 weights (dynamic-range), logits at
  half the input resolution.
- ``unet_uint8_logits``: uint8 I/O logits (what ``edge-host export`` ships), and
  ``unet_float_logits``, its float32 twin.
- ``dynamic_batch_uint8`` / ``static_batch_uint8``: one conv with a free or a fixed batch
  dimension (Edge TPU compatibility), ``classifier_float32``: not a segmentation model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.bench.hostile import colour_bars
from edge_runtime.bundle import default_palette

__all__ = ["colour_bars"]  # the reference image, shared with the hostile corpus

# Reference colours (RGB 0..255) and their class names.
COLOURS = {"black": (0, 0, 0), "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}
NAMES = list(COLOURS)


def nearest_colour_weights(
    mean: float, std: float, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """1x1 conv weights such that argmax = nearest reference colour, on normalized input
    x = (p - mean) / std.  -|p - c|^2 = 2 p.c - |c|^2 + const, and p = std x + mean."""
    refs = np.array(list(COLOURS.values()), np.float64)
    kernel = np.zeros((1, 1, 3, n_classes), np.float32)
    bias = np.full(n_classes, -1e3, np.float32)  # extra classes never win
    scale = 1.0 / 255.0  # keep logits in a small range (quantization friendly)
    for k, c in enumerate(refs):
        kernel[0, 0, :, k] = 2 * c * std * scale
        bias[k] = (2 * c @ np.full(3, mean) - c @ c) * scale
    if n_classes > len(refs):
        bias[len(refs) :] = bias[: len(refs)].min() - 50.0
    return kernel, bias


EXPAND = 16  # copies of each colour channel in the optional expansion layer


def _colour_model(
    h: int,
    w: int,
    n: int,
    mean: float,
    std: float,
    *,
    argmax: bool = False,
    stride: int = 1,
    expand: bool = False,
) -> Any:
    from edge_runtime.host.tf_compat import keras, tf

    inp = keras.Input((h, w, 3), batch_size=1, name="image")
    x = inp
    if stride > 1:
        x = keras.layers.AveragePooling2D(stride, name="downsample")(x)
    kernel, bias = nearest_colour_weights(mean, std, n)
    if expand:
        # A 3x3 conv that copies each channel EXPAND times through its centre tap: big
        # enough (1,296 weights) for dynamic-range quantization, and all but 48 are zero.
        grow = keras.layers.Conv2D(3 * EXPAND, 3, padding="same", use_bias=False, name="expand")
        x = grow(x)
        k = np.zeros((3, 3, 3, 3 * EXPAND), np.float32)
        for j in range(3 * EXPAND):
            k[1, 1, j % 3, j] = 1.0
        grow.set_weights([k])
        kernel = np.concatenate(
            [kernel[:, :, j % 3 : j % 3 + 1, :] / EXPAND for j in range(3 * EXPAND)], axis=2
        )
    conv = keras.layers.Conv2D(n, 1, name="logits")
    x = conv(x)
    conv.set_weights([kernel, bias])
    if argmax:
        x = keras.layers.Lambda(
            lambda t: tf.argmax(t, axis=-1, output_type=tf.int64), name="argmax"
        )(x)
    return keras.Model(inp, x)


def _probability_model(h: int, w: int, mean: float, std: float):  # type: ignore[no-untyped-def]
    from edge_runtime.host.tf_compat import keras

    inp = keras.Input((h, w, 3), batch_size=1, name="image")
    conv = keras.layers.Conv2D(1, 1, activation="sigmoid", name="person")
    out = conv(inp)
    # foreground = "red": r - g - b > 127 (on 0..255), as a steep sigmoid.
    k = 0.05 * std
    conv.set_weights(
        [
            np.array([k, -k, -k], np.float32).reshape(1, 1, 3, 1),
            np.array([0.05 * (mean * (1 - 1 - 1)) - 0.05 * 127.0], np.float32),
        ]
    )
    return keras.Model(inp, out)


def representative(h: int, w: int, mean: float, std: float, n: int = 24):  # type: ignore[no-untyped-def]
    """Calibration images: flat patches of the reference colours and random noise."""
    rng = np.random.default_rng(0)

    def gen():  # type: ignore[no-untyped-def]
        for i in range(n):
            if i % 2:
                img = rng.integers(0, 256, (1, h, w, 3)).astype(np.float32)
            else:
                img = np.zeros((1, h, w, 3), np.float32)
                for k, c in enumerate(COLOURS.values()):
                    img[:, :, k * w // 4 : (k + 1) * w // 4] = c
            yield [(img - mean) / std]

    return gen


def build(name: str, out_dir: Path) -> Path:
    """Build one zoo model into ``out_dir/NAME.tflite`` (bare, no manifest)."""
    from edge_runtime.host.export import convert

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.tflite"
    if path.exists():
        return path
    if name == "deeplab_uint8_argmax":
        # uint8 input fed with raw bytes: the convention for bare uint8 models.
        model = _colour_model(513, 513, 21, 127.5, 127.5, argmax=True)
        data = _int8_io_float_out(model, representative(513, 513, 127.5, 127.5, 6), "uint8")
    elif name == "deeplab_float_logits":
        model = _colour_model(257, 257, 21, 0.0, 255.0)  # bare float convention: p / 255
        data = convert(model, "float32")
    elif name == "unet_int8_probability":
        model = _probability_model(128, 128, 127.5, 127.5)
        data = convert(
            model, "int8", io_type="int8", representative=representative(128, 128, 127.5, 127.5)
        )
    elif name == "float_io_int8_weights":
        model = _colour_model(96, 128, 4, 0.0, 255.0, stride=2, expand=True)
        data = convert(model, "dynamic")
    elif name == "unet_float_logits":  # the float twin of unet_uint8_logits
        # Bare float convention (pixel / 255), so it runs without a manifest.
        data = convert(_colour_model(96, 128, 4, 0.0, 255.0), "float32")
    elif name == "unet_uint8_logits":
        model = _colour_model(96, 128, 4, 127.5, 127.5)
        data = convert(
            model, "int8", io_type="uint8", representative=representative(96, 128, 127.5, 127.5)
        )
    elif name in ("dynamic_batch_uint8", "static_batch_uint8"):
        data = _one_conv(dynamic=name.startswith("dynamic"))
    elif name == "classifier_float32":
        from edge_runtime.host.tf_compat import keras, tf

        keras.utils.set_random_seed(0)
        inp = keras.Input((8, 8, 3), batch_size=1)
        classifier = keras.Model(inp, keras.layers.Dense(10)(keras.layers.Flatten()(inp)))
        data = tf.lite.TFLiteConverter.from_keras_model(classifier).convert()
    else:
        raise KeyError(name)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def _one_conv(dynamic: bool) -> bytes:
    """A 3x3 conv, INT8 with uint8 I/O; ``dynamic``: the batch left free, as a training
    graph has it (the Edge TPU needs a static shape)."""
    from edge_runtime.host.export import convert
    from edge_runtime.host.tf_compat import keras, tf

    keras.utils.set_random_seed(0)
    rep = representative(32, 32, 127.5, 127.5, 4)
    inp = keras.Input((32, 32, 3))
    model = keras.Model(inp, keras.layers.Conv2D(4, 3, padding="same")(inp))
    if not dynamic:
        return convert(model, "int8", io_type="uint8", representative=rep)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = rep
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.uint8
    return bytes(converter.convert())


def _int8_io_float_out(model, rep, io_type: str) -> bytes:  # type: ignore[no-untyped-def]
    """Full-integer graph with integer input and the ArgMax's int64 output left as is."""
    from edge_runtime.host.tf_compat import tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = rep
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = getattr(tf, io_type)
    return bytes(converter.convert())


ZOO = [
    "deeplab_uint8_argmax",
    "deeplab_float_logits",
    "unet_int8_probability",
    "float_io_int8_weights",
    "unet_float_logits",
    "unet_uint8_logits",
    "dynamic_batch_uint8",
    "static_batch_uint8",
    "classifier_float32",
]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "zoo"

PALETTE = default_palette(21)


def as_edgetpu_model(source: Path, target: Path) -> Path:
    """A copy of ``source`` whose first op is the Edge TPU custom op, as edgetpu_compiler
    writes it: loading it needs libedgetpu, exactly like a compiled model."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(source.read_bytes(), 0)
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "edgetpu-custom-op"
    model.operatorCodes.append(code)
    model.subgraphs[0].operators[0].opcodeIndex = len(model.operatorCodes) - 1
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    target.write_bytes(bytes(builder.Output()))
    return target


def bundle(zoo_dir: Path, out_dir: Path, name: str, **manifest: object) -> Path:
    """A copy of a 4-class zoo model with a manifest (labels black/red/green/blue)."""
    import json

    from edge_runtime.bundle import sha256_file

    model = out_dir / f"{name}.tflite"
    model.write_bytes((zoo_dir / f"{name}.tflite").read_bytes())
    doc: dict[str, object] = {
        "name": name,
        "version": "1.2.3",
        "labels": NAMES,
        "palette": [list(c) for c in COLOURS.values()],
        "input": {"width": 128, "height": 96, "mean": [127.5] * 3, "std": [127.5] * 3},
        "output": {"kind": "logits"},
        "sha256": sha256_file(model),
    }
    doc.update(manifest)
    model.with_suffix(".json").write_text(json.dumps(doc))
    return model


if __name__ == "__main__":  # python tests/zoo.py: rebuild the committed fixtures
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    for name in ZOO:
        (FIXTURES / f"{name}.tflite").unlink(missing_ok=True)
        print(build(name, FIXTURES))
