"""FCN-32s with a ResNet50 backbone, as the seed describes it.

ResNet50 stages of one *conv block* (projection shortcut) and *identity blocks*
(3, 4, 6, 3 bottleneck blocks), a 1x1 classifier on the stride-32 features, and a x32
bilinear upsampling back to the input size. Built layer by layer (not from
``keras.applications``) so nothing is downloaded and every conv is a plain ``Conv2D``
that pruning can wrap.
"""

from __future__ import annotations

from edge_runtime.host.tf_compat import keras


def _conv_bn(x, filters: int, kernel: int, name: str, *, strides: int = 1, relu: bool = True):  # type: ignore[no-untyped-def]
    x = keras.layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding="same",
        kernel_initializer="he_normal",
        name=f"{name}_conv",
    )(x)
    x = keras.layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x


def conv_block(x, filters: tuple[int, int, int], strides: int, name: str):  # type: ignore[no-untyped-def]
    """Bottleneck block whose shortcut is a strided 1x1 projection."""
    f1, f2, f3 = filters
    shortcut = _conv_bn(x, f3, 1, f"{name}_0", strides=strides, relu=False)
    y = _conv_bn(x, f1, 1, f"{name}_1", strides=strides)
    y = _conv_bn(y, f2, 3, f"{name}_2")
    y = _conv_bn(y, f3, 1, f"{name}_3", relu=False)
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.ReLU(name=f"{name}_out")(y)


def identity_block(x, filters: tuple[int, int, int], name: str):  # type: ignore[no-untyped-def]
    """Bottleneck block with an identity shortcut."""
    f1, f2, f3 = filters
    y = _conv_bn(x, f1, 1, f"{name}_1")
    y = _conv_bn(y, f2, 3, f"{name}_2")
    y = _conv_bn(y, f3, 1, f"{name}_3", relu=False)
    y = keras.layers.Add(name=f"{name}_add")([x, y])
    return keras.layers.ReLU(name=f"{name}_out")(y)


STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # (width, blocks, stride)


def build_fcn32s(
    input_height: int, input_width: int, num_classes: int, *, name: str = "fcn32s"
) -> keras.Model:
    """FCN-32s: ``[N, H, W, 3]`` → ``[N, H, W, num_classes]`` logits.

    >>> build_fcn32s(64, 64, 13).output_shape
    (None, 64, 64, 13)

    Raises ``ValueError`` when the input is not divisible by 32.
    """
    if input_height % 32 or input_width % 32:
        raise ValueError(f"input {input_width}x{input_height} must be divisible by 32")
    inputs = keras.Input((input_height, input_width, 3), name="image")
    x = _conv_bn(inputs, 64, 7, "stem", strides=2)
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for stage, (width, blocks, stride) in enumerate(STAGES, start=2):
        filters = (width, width, 4 * width)
        x = conv_block(x, filters, stride, f"conv{stage}_block1")
        for b in range(2, blocks + 1):
            x = identity_block(x, filters, f"conv{stage}_block{b}")
    x = keras.layers.Conv2D(num_classes, 1, name="classifier")(x)
    outputs = keras.layers.UpSampling2D(32, interpolation="bilinear", name="upsample32")(x)
    return keras.Model(inputs, outputs, name=name)


def build_mobilenet_fcn32s(
    input_height: int, input_width: int, num_classes: int, *, name: str = "fcn32s_mobilenet_v2"
) -> keras.Model:
    """FCN-32s on an ImageNet MobileNetV2 encoder: the classifier's own stride-32 features
    (``Conv_1``, 1280 channels), a 1x1 classifier and a x32 bilinear upsampling — the same
    head as :func:`build_fcn32s`, so U-Net vs FCN compares decoders on one backbone.

    >>> build_mobilenet_fcn32s(64, 96, 11).output_shape
    (None, 64, 96, 11)
    """
    from edge_runtime.host.mobilenet_v2 import mobilenet_v2_features

    if input_height % 32 or input_width % 32:
        raise ValueError(f"input {input_width}x{input_height} must be divisible by 32")
    inputs = keras.Input((input_height, input_width, 3), name="image")
    x = mobilenet_v2_features(inputs, top=True)[32]
    x = keras.layers.Conv2D(num_classes, 1, name="classifier")(x)
    outputs = keras.layers.UpSampling2D(32, interpolation="bilinear", name="upsample32")(x)
    return keras.Model(inputs, outputs, name=name)
