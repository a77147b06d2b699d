"""U-Net builder (the seed's hyper-parameters as defaults)."""

from __future__ import annotations

from typing import Literal

from edge_runtime.host.tf_compat import keras


def _conv_block(x: keras.layers.Layer, filters: int, kernel: int, batch_norm: bool, name: str):  # type: ignore[no-untyped-def]
    for i in (1, 2):
        x = keras.layers.Conv2D(
            filters,
            kernel,
            padding="same",
            use_bias=not batch_norm,
            kernel_initializer="he_normal",
            name=f"{name}_conv{i}",
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = keras.layers.ReLU(name=f"{name}_relu{i}")(x)
    return x


def build_unet(
    input_height: int,
    input_width: int,
    num_classes: int,
    *,
    filters: int = 16,
    depth: int = 4,
    kernel_size: int = 3,
    batch_norm: bool = True,
    dropout: float = 0.05,
    name: str = "unet",
) -> keras.Model:
    """U-Net: ``depth`` down/up levels, ``filters`` in the first level, doubling per level.

    The batch size is fixed to 1 at export time; here it is left free for training.
    Output: ``[N, H, W, num_classes]`` logits (no softmax: argmax on the device is the same
    and the INT8 model keeps more resolution in its logits).

    >>> build_unet(64, 64, 3, depth=2).output_shape
    (None, 64, 64, 3)

    Raises ``ValueError`` when the input size is not divisible by ``2**depth``.
    """
    stride = 2**depth
    if input_height % stride or input_width % stride:
        raise ValueError(
            f"input {input_width}x{input_height} must be divisible by 2**depth = {stride}"
        )
    inputs = keras.Input((input_height, input_width, 3), name="image")
    x = inputs
    skips = []
    for level in range(depth):
        x = _conv_block(x, filters * 2**level, kernel_size, batch_norm, f"enc{level}")
        skips.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{level}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"drop{level}")(x)
    x = _conv_block(x, filters * 2**depth, kernel_size, batch_norm, "bottleneck")
    for level in reversed(range(depth)):
        x = keras.layers.Conv2DTranspose(
            filters * 2**level, kernel_size, strides=2, padding="same", name=f"up{level}"
        )(x)
        x = keras.layers.Concatenate(name=f"cat{level}")([x, skips[level]])
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"updrop{level}")(x)
        x = _conv_block(x, filters * 2**level, kernel_size, batch_norm, f"dec{level}")
    outputs = keras.layers.Conv2D(num_classes, 1, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def build_mobilenet_unet(
    input_height: int,
    input_width: int,
    num_classes: int,
    *,
    decoder_filters: tuple[int, ...] = (128, 64, 48, 32),
    skip_batch_norm: bool = False,
    upsampling: Literal["transpose", "bilinear"] = "transpose",
    output_stride: int = 1,
    name: str = "unet_mobilenet_v2",
) -> keras.Model:
    """U-Net on an ImageNet MobileNetV2 encoder (Coral's U-Net-MobileNetV2 design): the
    stride-32 features go up one level per ``decoder_filters`` entry (strides 16, 8, 4, 2
    in turn), each concatenated with the encoder's features at that stride.

    ``upsampling="transpose"`` goes up each level with a 3x3 transposed conv + BN + ReLU and
    ends in a transposed conv to full-resolution logits (Coral's form; ``output_stride`` 1
    and four levels). ``"bilinear"`` goes up with a bilinear x2 and a 1x1 conv + BN + ReLU,
    and ends in 1x1 conv logits at the last level's stride, bilinear-resized to
    ``output_stride``: measured on INT8 at 480x352, the full-resolution 11-channel output
    alone costs about a quarter of the invoke, and the transposed convs twice what a
    resize + 1x1 conv does (``bench/decoder_latency.py``). The device pipeline maps a
    smaller label map back to the frame.

    The skips are each stride's block output (96, 32, 24, 16 channels), not the wide expand
    activations Coral's tutorial takes (576, 192, 144, 96): at 480x352 those would add about
    a billion MACs to the decoder for features one 1x1 conv away from these. Being linear,
    they are unnormalized (std 4-6 against the decoder's ~0.8): ``skip_batch_norm`` puts a
    BatchNormalization on each (a per-channel multiply-add in the .tflite).
    Load the encoder's weights with ``mobilenet_v2.load_imagenet_weights``.

    >>> build_mobilenet_unet(64, 96, 11).output_shape
    (None, 64, 96, 11)
    >>> build_mobilenet_unet(64, 96, 11, decoder_filters=(64, 32, 24),
    ...                      upsampling="bilinear", output_stride=2).output_shape
    (None, 32, 48, 11)

    Raises ``ValueError`` when the input is not divisible by 32 or the levels and
    ``output_stride`` do not fit together.
    """
    from edge_runtime.host.config import decoder_problem
    from edge_runtime.host.mobilenet_v2 import mobilenet_v2_features

    if input_height % 32 or input_width % 32:
        raise ValueError(f"input {input_width}x{input_height} must be divisible by 32")
    problem = decoder_problem(len(decoder_filters), upsampling, output_stride)
    if problem:
        raise ValueError(problem)
    last_stride = 32 >> len(decoder_filters)
    inputs = keras.Input((input_height, input_width, 3), name="image")
    features = mobilenet_v2_features(inputs)
    x = features[32]
    for filters, stride in zip(decoder_filters, (16, 8, 4, 2), strict=False):
        if upsampling == "transpose":
            x = keras.layers.Conv2DTranspose(
                filters, 3, strides=2, padding="same", use_bias=False, name=f"up{stride}"
            )(x)
        else:
            x = keras.layers.UpSampling2D(interpolation="bilinear", name=f"resize{stride}")(x)
            x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"up{stride}")(x)
        x = keras.layers.BatchNormalization(name=f"up{stride}_bn")(x)
        x = keras.layers.ReLU(name=f"up{stride}_relu")(x)
        skip = features[stride]
        if skip_batch_norm:
            skip = keras.layers.BatchNormalization(name=f"skip{stride}_bn")(skip)
        x = keras.layers.Concatenate(name=f"cat{stride}")([x, skip])
    if upsampling == "transpose":
        outputs = keras.layers.Conv2DTranspose(
            num_classes, 3, strides=2, padding="same", name="logits"
        )(x)
    else:
        outputs = keras.layers.Conv2D(num_classes, 1, name="logits")(x)
        if last_stride != output_stride:
            outputs = keras.layers.UpSampling2D(
                last_stride // output_stride, interpolation="bilinear", name="logits_resize"
            )(outputs)
    return keras.Model(inputs, outputs, name=name)
