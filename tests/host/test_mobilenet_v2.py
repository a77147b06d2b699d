"""The ImageNet MobileNetV2 import: the rebuilt float classifier agrees with the .tflite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_runtime.host.config import weights_root
from edge_runtime.host.fcn import build_mobilenet_fcn32s
from edge_runtime.host.mobilenet_v2 import (
    build_classifier,
    is_encoder_layer,
    load_imagenet_weights,
    read_tflite_weights,
)
from edge_runtime.host.tf_compat import keras
from edge_runtime.host.unet import build_mobilenet_unet
from edge_runtime.litert import make_interpreter

WEIGHTS = weights_root() / "mobilenet_v2_1.0_224_quant.tflite"


def coco_photos(data: Path, n: int) -> list[Path]:
    photos = sorted((data / "coco" / "val2017").glob("*.jpg"))[:n]
    assert photos, f"no COCO photos under {data}"
    return photos


def test_rebuilt_classifier_agrees_with_the_tflite_on_real_photos(data: Path) -> None:
    model = build_classifier()
    assert load_imagenet_weights(model, WEIGHTS) == 53  # 36 conv + 17 depthwise
    interpreter = make_interpreter(str(WEIGHTS))
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    photos = coco_photos(data, 50)
    agree = 0
    ranks = []
    for path in photos:
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("RGB").resize((224, 224), Image.Resampling.BILINEAR))
        interpreter.set_tensor(inp["index"], pixels[None])
        interpreter.invoke()
        tflite_top1 = int(interpreter.get_tensor(out["index"])[0].argmax())
        x = (pixels[None].astype(np.float32) - 127.5) / 127.5
        logits = np.asarray(model(x, training=False))[0]
        agree += tflite_top1 == int(logits.argmax())
        ranks.append(int((logits > logits[tflite_top1]).sum()))  # 0: Keras agrees
    # The differences come from the file's quantized activations: the .tflite's class is
    # always among Keras' top 5, and the top-1 classes agree on >= 90 % of photos (judged on
    # the full data's 50 photos; the repository's 4 samples are too few for a percentage).
    assert max(ranks) < 5, ranks
    if len(photos) >= 20:
        assert agree >= 0.9 * len(photos), f"top-1 agrees on {agree} of {len(photos)} photos"
    else:
        assert agree >= len(photos) - 1, f"top-1 agrees on {agree} of {len(photos)} photos"


def test_weights_are_dequantized_into_keras_layouts() -> None:
    weights = read_tflite_weights(WEIGHTS)
    kernel, bias = weights["Conv"]
    assert kernel.shape == (3, 3, 3, 32) and bias.shape == (32,)
    assert weights["expanded_conv_1/depthwise"][0].shape == (3, 3, 96, 1)
    assert weights["Logits/Conv2d_1c_1x1"][0].shape == (1, 1, 1280, 1001)
    assert all(k.dtype == np.float32 for k, _ in weights.values())


def test_unet_and_fcn_on_the_encoder_share_its_weights() -> None:
    unet = build_mobilenet_unet(64, 96, 11)
    fcn = build_mobilenet_fcn32s(64, 96, 11)
    assert unet.output_shape == fcn.output_shape == (None, 64, 96, 11)
    assert load_imagenet_weights(unet, WEIGHTS) == 51  # no Conv_1: the U-Net stops at 320
    assert load_imagenet_weights(fcn, WEIGHTS) == 52  # + Conv_1 (1280)
    first = next(layer for layer in unet.layers if is_encoder_layer(layer))
    np.testing.assert_array_equal(
        first.get_weights()[0], fcn.get_layer(first.name).get_weights()[0]
    )
    # Skips at strides 2, 4, 8 and 16, each concatenated after a x2 transposed conv.
    cats = [layer for layer in unet.layers if isinstance(layer, keras.layers.Concatenate)]
    assert [c.output_shape[1] for c in cats] == [4, 8, 16, 32]
    with pytest.raises(ValueError, match="divisible by 32"):
        build_mobilenet_unet(60, 96, 11)


def test_skip_batch_norm_brings_the_linear_skips_to_the_decoders_scale(
    data: Path, tmp_path: Path
) -> None:
    from edge_runtime.edgetpu_compat import check_model
    from edge_runtime.host.export import convert

    unet = build_mobilenet_unet(64, 96, 11, skip_batch_norm=True)
    assert load_imagenet_weights(unet, WEIGHTS) == 51
    norms = [unet.get_layer(f"skip{s}_bn") for s in (16, 8, 4, 2)]
    photos = np.stack(
        [
            np.asarray(Image.open(p).convert("RGB").resize((96, 64)), np.float32) / 127.5 - 1
            for p in coco_photos(data, 4)
        ]
    )
    probe = keras.Model(unet.input, [t for n in norms for t in (n.input, n.output)])
    stds = [float(np.std(a)) for a in probe(photos, training=True)]  # batch statistics
    raw, normed = stds[0::2], stds[1::2]
    assert min(raw) > 1.5, raw  # the ImageNet encoder's skips, unnormalized
    assert normed == pytest.approx([1.0] * 4, abs=0.05)
    # ... and the exported INT8 graph still runs whole on the Edge TPU (BN -> MUL + ADD).
    rep = ([p[None]] for p in photos)
    path = tmp_path / "unet.tflite"
    path.write_bytes(convert(unet, "int8", representative=lambda: rep))
    report = check_model(path)
    assert report.compatible, report.verdict()


@pytest.mark.parametrize(
    ("levels", "output_stride", "shape"),
    [
        ((32, 16, 16, 8), 1, (64, 96)),
        ((32, 16, 16, 8), 2, (32, 48)),
        ((32, 16, 16), 2, (32, 48)),
        ((32, 16, 16), 4, (16, 24)),
    ],
)
def test_bilinear_decoder_stops_at_its_levels_and_resizes_logits_to_the_output_stride(
    levels: tuple[int, ...], output_stride: int, shape: tuple[int, int]
) -> None:
    unet = build_mobilenet_unet(
        64, 96, 11, decoder_filters=levels, upsampling="bilinear", output_stride=output_stride
    )
    assert unet.output_shape == (None, *shape, 11)
    cats = [layer for layer in unet.layers if isinstance(layer, keras.layers.Concatenate)]
    assert [c.output_shape[1] for c in cats] == [4, 8, 16, 32][: len(levels)]  # skips kept
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in unet.layers)
    logits = unet.get_layer("logits")
    assert logits.kernel_size == (1, 1) and logits.output_shape[1] == 64 // (32 >> len(levels))


def test_decoder_shapes_that_do_not_fit_are_refused() -> None:
    with pytest.raises(ValueError, match="upsampling transpose needs 4 decoder_filters"):
        build_mobilenet_unet(64, 96, 11, decoder_filters=(32, 16, 16))
    with pytest.raises(ValueError, match="upsampling transpose needs 4 decoder_filters"):
        build_mobilenet_unet(64, 96, 11, output_stride=2)
    with pytest.raises(ValueError, match="at most the last level's stride"):
        build_mobilenet_unet(64, 96, 11, upsampling="bilinear", output_stride=4)
    with pytest.raises(ValueError, match="1-4 widths"):
        build_mobilenet_unet(64, 96, 11, decoder_filters=(), upsampling="bilinear")


def test_bilinear_decoder_exports_to_an_edge_tpu_graph_with_resize_ops(
    data: Path, tmp_path: Path
) -> None:
    from edge_runtime.edgetpu_compat import check_model
    from edge_runtime.host.export import convert
    from edge_runtime.tflite_graph import read_graph

    unet = build_mobilenet_unet(
        64,
        96,
        11,
        decoder_filters=(32, 16, 16),
        upsampling="bilinear",
        output_stride=2,
        skip_batch_norm=True,
    )
    load_imagenet_weights(unet, WEIGHTS)
    photos = [
        np.asarray(Image.open(p).convert("RGB").resize((96, 64)), np.float32)[None] / 127.5 - 1
        for p in coco_photos(data, 4)
    ]
    path = tmp_path / "unet.tflite"
    path.write_bytes(convert(unet, "int8", representative=lambda: ([p] for p in photos)))
    graph = read_graph(path)
    # x2 per level (3) and the logits' x2; no transposed conv left
    assert graph.op_histogram["RESIZE_BILINEAR"] == 4
    assert "TRANSPOSE_CONV" not in graph.op_histogram
    assert graph.tensors[graph.outputs[0]].shape == (1, 32, 48, 11)
    report = check_model(path)
    assert report.compatible, report.verdict()


def test_missing_or_wrong_weights_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no pretrained weights"):
        read_tflite_weights(tmp_path / "nope.tflite")
    small = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(8, 3, name="mnv2_Conv")])
    with pytest.raises(ValueError, match="Conv has shapes"):
        load_imagenet_weights(small, WEIGHTS)
