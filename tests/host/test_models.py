from __future__ import annotations

import pytest

from edge_runtime.host.fcn import build_fcn32s
from edge_runtime.host.tf_compat import keras
from edge_runtime.host.unet import build_unet

# keras.applications.ResNet50(include_top=False) has 23,587,712 parameters; FCN-32s adds a
# 1x1 classifier (2048 x C weights + C biases). The seed reported 23,534,915.
RESNET50_BACKBONE = 23_587_712


def test_unet_defaults_are_the_seeds() -> None:
    model = build_unet(192, 256, 11)
    convs = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D)
        and not isinstance(layer, keras.layers.Conv2DTranspose)
    ]
    assert convs[0].filters == 16 and convs[0].kernel_size == (3, 3)
    assert [c.filters for c in convs[::2][:5]] == [16, 32, 64, 128, 256]  # x2 per level
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    drops = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert drops and set(drops) == {0.05}
    assert model.output_shape == (None, 192, 256, 11)


def test_unet_depth_and_width_are_configurable() -> None:
    small = build_unet(64, 64, 3, filters=8, depth=2, dropout=0.0, batch_norm=False)
    assert small.output_shape == (None, 64, 64, 3)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in small.layers)
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth = 16"):
        build_unet(100, 64, 3)


@pytest.mark.parametrize("classes", [11, 13])
def test_fcn32s_parameters(classes: int) -> None:
    model = build_fcn32s(192, 256, classes)
    assert model.count_params() == RESNET50_BACKBONE + 2048 * classes + classes
    assert model.output_shape == (None, 192, 256, classes)
    blocks = [layer.name for layer in model.layers if layer.name.endswith("_add")]
    assert len(blocks) == 3 + 4 + 6 + 3  # conv block + identity blocks per stage
    with pytest.raises(ValueError, match="divisible by 32"):
        build_fcn32s(200, 256, classes)
