"""An ImageNet MobileNetV2 encoder, imported from Coral's quantized classifier.

Nothing can be downloaded (Keras' ``weights="imagenet"`` needs the network), so the float
encoder is rebuilt from ``mobilenet_v2_1.0_224_quant.tflite``: every convolution's uint8
weights and int32 bias are dequantized (``(q - zero_point) * scale``). Batch norm is already
folded into those convolutions, so the encoder is conv + bias + ReLU6, exactly the file's
graph with float activations. Layers are named ``mnv2_<TF-Slim scope>`` so the
encoder can be frozen by name and the weights matched to the file's tensors by scope.

Input convention (the file's): RGB scaled as ``(pixel - 127.5) / 127.5``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_runtime.host.tf_compat import keras

PREFIX = "mnv2_"


@dataclass(frozen=True)
class Block:
    """One inverted-residual block: ``expand`` x channels in, ``out`` channels, ``stride``."""

    scope: str
    expand: int
    out: int
    stride: int


# TF-Slim's MobileNetV2 1.0 (Sandler et al. 2018, table 2), scopes as in the .tflite.
BLOCKS = (
    Block("expanded_conv", 1, 16, 1),
    Block("expanded_conv_1", 6, 24, 2),
    Block("expanded_conv_2", 6, 24, 1),
    Block("expanded_conv_3", 6, 32, 2),
    Block("expanded_conv_4", 6, 32, 1),
    Block("expanded_conv_5", 6, 32, 1),
    Block("expanded_conv_6", 6, 64, 2),
    Block("expanded_conv_7", 6, 64, 1),
    Block("expanded_conv_8", 6, 64, 1),
    Block("expanded_conv_9", 6, 64, 1),
    Block("expanded_conv_10", 6, 96, 1),
    Block("expanded_conv_11", 6, 96, 1),
    Block("expanded_conv_12", 6, 96, 1),
    Block("expanded_conv_13", 6, 160, 2),
    Block("expanded_conv_14", 6, 160, 1),
    Block("expanded_conv_15", 6, 160, 1),
    Block("expanded_conv_16", 6, 320, 1),
)
# Block whose output is the last feature map at each stride (the U-Net's skips).
ENDPOINTS = {
    2: "expanded_conv",
    4: "expanded_conv_2",
    8: "expanded_conv_5",
    16: "expanded_conv_12",
    32: "expanded_conv_16",
}


def _conv(x, filters: int, kernel: int, scope: str, *, stride: int = 1, relu6: bool = True):  # type: ignore[no-untyped-def]
    x = keras.layers.Conv2D(
        filters, kernel, strides=stride, padding="same", name=f"{PREFIX}{scope}"
    )(x)
    return keras.layers.ReLU(6.0, name=f"{PREFIX}{scope}_relu6")(x) if relu6 else x


def mobilenet_v2_features(inputs, *, top: bool = False) -> dict[int, object]:  # type: ignore[no-untyped-def]
    """Feature maps by output stride (2, 4, 8, 16, 32) of a MobileNetV2 on ``inputs``.

    ``top`` adds ``Conv_1`` (1x1, 1280 channels) at stride 32, as the classifier has it.
    Weights are random until :func:`load_imagenet_weights`.
    """
    x = _conv(inputs, 32, 3, "Conv", stride=2)
    features: dict[int, object] = {}
    stride, channels = 2, 32
    for block in BLOCKS:
        shortcut = x
        if block.expand != 1:
            x = _conv(x, channels * block.expand, 1, f"{block.scope}/expand")
        x = keras.layers.DepthwiseConv2D(
            3, strides=block.stride, padding="same", name=f"{PREFIX}{block.scope}/depthwise"
        )(x)
        x = keras.layers.ReLU(6.0, name=f"{PREFIX}{block.scope}/depthwise_relu6")(x)
        x = _conv(x, block.out, 1, f"{block.scope}/project", relu6=False)
        if block.stride == 1 and channels == block.out:
            x = keras.layers.Add(name=f"{PREFIX}{block.scope}/add")([shortcut, x])
        stride *= block.stride
        channels = block.out
        if ENDPOINTS.get(stride) == block.scope:
            features[stride] = x
    if top:
        features[32] = _conv(x, 1280, 1, "Conv_1")
    return features


def build_classifier(size: int = 224) -> keras.Model:
    """The file's whole classifier (1001 ImageNet classes, index 0 background) as a float
    Keras model: what proves the import faithful."""
    inputs = keras.Input((size, size, 3), name="image")
    x = mobilenet_v2_features(inputs, top=True)[32]
    x = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{PREFIX}Logits/AvgPool")(x)
    x = keras.layers.Conv2D(1001, 1, name=f"{PREFIX}Logits/Conv2d_1c_1x1")(x)
    outputs = keras.layers.Flatten(name="logits")(x)
    return keras.Model(inputs, outputs, name="mobilenet_v2_classifier")


def read_tflite_weights(path: Path) -> dict[str, list[np.ndarray]]:
    """``{scope: [kernel, bias]}`` in Keras layouts, dequantized, for every conv of the file."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    if not path.is_file():
        raise FileNotFoundError(
            f"no pretrained weights at {path} (mobilenet_v2_1.0_224_quant.tflite; see "
            "../shared/weights/README.md)"
        )
    # Reference kernels: XNNPACK would take the constant tensors out of reach.
    interpreter = Interpreter(
        model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF
    )
    tensors = {t["name"]: t for t in interpreter.get_tensor_details()}

    def dequantized(name: str) -> np.ndarray:
        detail = tensors[name]
        scale, zero_point = detail["quantization"]
        data = interpreter.get_tensor(detail["index"]).astype(np.float32)
        return (data - zero_point) * scale

    weights: dict[str, list[np.ndarray]] = {}
    for name in tensors:
        if not name.endswith("/weights_quant/FakeQuantWithMinMaxVars"):
            continue
        scope = name.removeprefix("MobilenetV2/").split("/weights_quant/")[0]
        kernel = dequantized(name)
        bias_name = next(
            b
            for b in (
                f"MobilenetV2/{scope}/Conv2D_Fold_bias",
                f"MobilenetV2/{scope}/depthwise_Fold_bias",
                f"MobilenetV2/{scope}/Conv2D_bias",
            )
            if b in tensors
        )
        if scope.endswith("/depthwise"):  # [1, h, w, c] → [h, w, c, 1]
            kernel = kernel[0][..., None]
        else:  # [out, h, w, in] → [h, w, in, out]
            kernel = kernel.transpose(1, 2, 3, 0)
        weights[scope] = [kernel, dequantized(bias_name)]
    return weights


def load_imagenet_weights(model: keras.Model, path: Path) -> int:
    """Copy the file's weights into every ``mnv2_`` conv of ``model``; returns how many.

    Raises ``ValueError`` when a layer has no tensor in the file or a different shape.
    """
    weights = read_tflite_weights(path)
    loaded = 0
    for layer in model.layers:
        if not layer.name.startswith(PREFIX) or not layer.weights:
            continue
        scope = layer.name.removeprefix(PREFIX)
        if scope not in weights:
            raise ValueError(f"{path}: no weights for {scope}")
        want = [tuple(w.shape) for w in layer.get_weights()]
        have = [w.shape for w in weights[scope]]
        if want != have:
            raise ValueError(f"{path}: {scope} has shapes {have}, the layer needs {want}")
        layer.set_weights(weights[scope])
        loaded += 1
    return loaded


def is_encoder_layer(layer: keras.layers.Layer) -> bool:
    return bool(layer.name.startswith(PREFIX))
