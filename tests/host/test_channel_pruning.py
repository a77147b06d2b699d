"""Channel pruning on real models: ImageNet MobileNetV2 U-Nets and FCN, the seed U-Net."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.host

WEIGHTS = "mobilenet_v2_1.0_224_quant.tflite"
H, W = 64, 96


def _mnv2(builder: Callable[..., Any], **kwargs: object):  # type: ignore[no-untyped-def]
    from edge_runtime.host.config import weights_root
    from edge_runtime.host.mobilenet_v2 import load_imagenet_weights

    model = builder(H, W, 11, **kwargs)
    load_imagenet_weights(model, weights_root() / WEIGHTS)
    _random_batch_norm(model)
    return model


def _random_batch_norm(model) -> None:  # type: ignore[no-untyped-def]
    """Untrained batch norms are identities; give them statistics so slicing them matters."""
    from edge_runtime.host.tf_compat import keras

    rng = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape),
                    rng.normal(0, 0.2, beta.shape),
                    rng.normal(0, 0.5, mean.shape),
                    rng.uniform(0.5, 2.0, var.shape),
                ]
            )


def unet_bilinear():  # type: ignore[no-untyped-def]
    from edge_runtime.host.unet import build_mobilenet_unet

    return _mnv2(
        build_mobilenet_unet,
        decoder_filters=(32, 24, 16),
        skip_batch_norm=True,
        upsampling="bilinear",
        output_stride=2,
    )


def unet_transpose():  # type: ignore[no-untyped-def]
    from edge_runtime.host.unet import build_mobilenet_unet

    return _mnv2(build_mobilenet_unet, decoder_filters=(32, 24, 16, 16))


def fcn():  # type: ignore[no-untyped-def]
    from edge_runtime.host.fcn import build_mobilenet_fcn32s

    return _mnv2(build_mobilenet_fcn32s)


def seed_unet():  # type: ignore[no-untyped-def]
    from edge_runtime.host.unet import build_unet

    model = build_unet(H, W, 11, filters=8, depth=2)
    _random_batch_norm(model)
    return model


BUILDERS = {
    "unet_bilinear": unet_bilinear,
    "unet_transpose": unet_transpose,
    "fcn": fcn,
    "seed_unet": seed_unet,
}


@pytest.fixture(scope="module")
def frames(camvid_val: list[Path]) -> np.ndarray:
    """Real CamVid frames as the models see them."""
    from edge_runtime.bundle import InputSpec
    from edge_runtime.host.inputs import model_inputs

    return model_inputs(camvid_val, InputSpec(width=W, height=H), 4)


def test_groups_follow_the_graph_and_leave_residual_channels_alone() -> None:
    from edge_runtime.host.channel_pruning import channel_groups
    from edge_runtime.host.mobilenet_v2 import BLOCKS

    groups = {g.producer: g for g in channel_groups(unet_bilinear())}
    # Every inverted residual's expansion goes with its depthwise conv into its projection.
    for block in BLOCKS[1:]:
        g = groups[f"mnv2_{block.scope}/expand"]
        assert f"mnv2_{block.scope}/depthwise" in g.channelwise
        assert g.consumers == (f"mnv2_{block.scope}/project",)
    # The stem feeds the first block's depthwise conv directly.
    assert groups["mnv2_Conv"].consumers == ("mnv2_expanded_conv/project",)
    # A projection that reaches a residual Add (or a skip through one) is never a group.
    assert "mnv2_expanded_conv_2/project" not in groups  # add in block 2
    assert "mnv2_expanded_conv_5/project" not in groups  # add, then the stride-8 skip
    # Decoder levels: conv + batch norm, their slice of the concat, read by the next conv.
    assert groups["up16"].channelwise[:2] == ("up16_bn", "up16_relu")
    assert groups["up16"].consumers == ("up8",)
    assert groups["up4"].consumers == ("logits",)
    assert "logits" not in groups  # a model output


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_rebuilt_model_computes_what_the_masked_one_did(name: str, frames: np.ndarray) -> None:
    from edge_runtime.host.channel_pruning import (
        mask_channels,
        model_macs,
        plan_channels,
        prune_channels,
    )
    from edge_runtime.host.config import ChannelPruningConfig

    model = BUILDERS[name]()
    plan = plan_channels(model, ChannelPruningConfig(enabled=True, keep=0.5), frames)
    smaller = prune_channels(model, plan)
    mask_channels(model, plan)
    masked, rebuilt = np.asarray(model(frames)), np.asarray(smaller(frames))
    assert rebuilt.shape == masked.shape
    np.testing.assert_allclose(rebuilt, masked, atol=2e-5 * np.abs(masked).max())
    # Genuinely smaller, by what the plan said.
    assert model_macs(smaller) == plan.macs_after < plan.macs_before == model_macs(model)
    assert smaller.count_params() == plan.params_after < plan.params_before
    assert plan.params_before == model.count_params()


def test_keras_mac_count_matches_a_hand_count() -> None:
    from edge_runtime.host.channel_pruning import model_macs
    from edge_runtime.host.tf_compat import keras

    x = keras.Input((8, 10, 3))
    y = keras.layers.Conv2D(4, 3, padding="same")(x)  # 8*10 * 3*3*3 * 4 = 8640
    y = keras.layers.DepthwiseConv2D(3, strides=2, padding="same")(y)  # 4*5 * 9 * 4 = 720
    y = keras.layers.Conv2DTranspose(6, 3, strides=2, padding="same")(y)  # 4*5 * 9 * 4*6 = 4320
    y = keras.layers.Conv2D(2, 1)(y)  # 8*10 * 6 * 2 = 960
    assert model_macs(keras.Model(x, y)) == 8640 + 720 + 4320 + 960


def test_pruned_int8_export_is_smaller_faster_and_edgetpu_whole(
    frames: np.ndarray, tmp_path: Path
) -> None:
    from edge_runtime.edgetpu_compat import check_model
    from edge_runtime.host.channel_pruning import model_macs, plan_channels, prune_channels
    from edge_runtime.host.config import ChannelPruningConfig
    from edge_runtime.host.export import convert
    from edge_runtime.tflite_graph import read_graph

    model = unet_bilinear()
    plan = plan_channels(
        model, ChannelPruningConfig(enabled=True, target_gmacs=0.02, keep=0.6), frames
    )
    smaller = prune_channels(model, plan)

    def rep():  # type: ignore[no-untyped-def]
        for x in frames:
            yield [x[None]]

    files = {}
    for key, m in (("dense", model), ("pruned", smaller)):
        files[key] = tmp_path / f"{key}.tflite"
        files[key].write_bytes(convert(m, "int8", representative=rep))
    dense, pruned = read_graph(files["dense"]), read_graph(files["pruned"])
    # The converter's graph, counted independently, has the MACs the plan promised.
    assert pruned.macs == model_macs(smaller) == plan.macs_after <= 0.02e9
    assert dense.macs == plan.macs_before
    assert pruned.params < dense.params
    assert files["pruned"].stat().st_size < 0.8 * files["dense"].stat().st_size
    assert check_model(files["pruned"]).compatible


def test_target_gmacs_scales_every_ratio_and_refuses_the_unreachable(
    frames: np.ndarray,
) -> None:
    from edge_runtime.host.channel_pruning import plan_channels
    from edge_runtime.host.config import ChannelPruningConfig, GroupKeep

    model = unet_bilinear()
    cfg = ChannelPruningConfig(
        enabled=True,
        keep=0.8,
        layers=(GroupKeep(match="^up", keep=1.0), GroupKeep(match="_1[3-6]/", keep=0.4)),
        target_gmacs=0.025,
        round_to=8,
    )
    plan = plan_channels(model, cfg, frames)
    assert plan.macs_after <= 0.025e9 < plan.macs_before
    widths = plan.widths()
    assert all(kept == width for name, (kept, width) in widths.items() if name.startswith("up"))
    assert all(kept % 8 == 0 for kept, _ in widths.values())
    late = widths["mnv2_expanded_conv_14/expand"]
    early = widths["mnv2_expanded_conv_7/expand"]
    assert late[0] / late[1] < early[0] / early[1]  # 0.4 and 0.8, scaled alike
    with pytest.raises(ValueError, match="out of reach"):
        plan_channels(model, cfg.model_copy(update={"target_gmacs": 0.001}), frames)


def test_contribution_removes_the_channels_nothing_reads(frames: np.ndarray) -> None:
    from edge_runtime.host.channel_pruning import plan_channels
    from edge_runtime.host.config import ChannelPruningConfig

    model = unet_bilinear()
    project = model.get_layer("mnv2_expanded_conv_7/project")
    kernel, bias = project.get_weights()
    silent = np.arange(0, 384, 3)  # a third of the expansion channels: read by nothing
    kernel[:, :, silent] = 0.0
    project.set_weights([kernel, bias])
    plan = plan_channels(
        model, ChannelPruningConfig(enabled=True, keep=0.5, importance="contribution"), frames
    )
    kept = plan.keep["mnv2_expanded_conv_7/expand"]
    assert kept.size == 192 and not np.isin(silent, kept).any()


def test_plan_round_trips_through_its_record(frames: np.ndarray) -> None:
    import json

    from edge_runtime.host.channel_pruning import ChannelPlan, plan_channels
    from edge_runtime.host.config import ChannelPruningConfig

    model = unet_bilinear()
    plan = plan_channels(model, ChannelPruningConfig(enabled=True, keep=0.5, importance="l2"))
    again = ChannelPlan.from_dict(model, json.loads(json.dumps(plan.as_dict())))
    assert again.widths() == plan.widths() and again.macs_after == plan.macs_after
    for name, kept in plan.keep.items():
        np.testing.assert_array_equal(again.keep[name], kept)
    with pytest.raises(ValueError, match="does not match"):
        ChannelPlan.from_dict(fcn(), plan.as_dict())
