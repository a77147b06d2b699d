"""Structured (channel) pruning: remove whole filters and rebuild a smaller dense model.

Magnitude pruning (``train.prune_conv_layers``) zeroes single weights: the file shrinks
once compressed, but no LiteRT kernel skips zeros, so a frame costs the same. Removing
channels does make it cheaper, on every CPU and on the Edge TPU.

Written by hand: TFMOT has no channel pruning (only m-by-n sparsity), kerassurgeon stopped
at TF 2.2, NNCF dropped TensorFlow, and Sony's MCT prunes only conv → conv sections with
no depthwise conv between them, which leaves out the expansion channels of MobileNetV2's
inverted residuals, where most of the MACs are.

The graph decides what can go together. A *group* is one conv's output channels
(its *producer*), followed through channel-wise layers (batch norm, activations,
depthwise convs, resizing, pooling, dropout) and concatenations to the convs that consume
them. Channels that reach a residual ``Add``, a model output or any other layer are never
pruned, so residual and skip channels stay consistent. For MobileNetV2 that makes one
group per inverted residual (expand → depthwise → project) plus the stem's; for the U-Net
decoder, one per level (its conv, batch norm and its slice of the next concat).

>>> plan = plan_channels(model, ChannelPruningConfig(enabled=True, keep=0.5))  # doctest: +SKIP
>>> smaller = prune_channels(model, plan)                                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_runtime.host.config import ChannelPruningConfig, ExperimentConfig
from edge_runtime.host.inputs import model_inputs
from edge_runtime.host.tf_compat import keras

L = keras.layers
# Layers that act on each channel separately: a channel's fate passes straight through.
CHANNELWISE = (
    L.BatchNormalization,
    L.ReLU,
    L.Activation,
    L.LeakyReLU,
    L.DepthwiseConv2D,
    L.UpSampling2D,
    L.Dropout,
    L.SpatialDropout2D,
    L.MaxPooling2D,
    L.AveragePooling2D,
    L.ZeroPadding2D,
)


def _is_producer(layer: keras.layers.Layer) -> bool:
    """A conv whose output channels are its own filters (not a depthwise or grouped conv)."""
    if isinstance(layer, L.DepthwiseConv2D):
        return False
    return isinstance(layer, L.Conv2D) and getattr(layer, "groups", 1) == 1


def _is_channelwise(layer: keras.layers.Layer) -> bool:
    if isinstance(layer, L.DepthwiseConv2D):
        return int(layer.depth_multiplier) == 1
    return isinstance(layer, CHANNELWISE)


def _inbound(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    found = layer.inbound_nodes[0].inbound_layers
    return list(found) if isinstance(found, list | tuple) else [found]


def _outbound(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    return [node.outbound_layer for node in layer.outbound_nodes]


def _channels(layer: keras.layers.Layer) -> int:
    shape = layer.output_shape
    return int((shape[0] if isinstance(shape, list) else shape)[-1])


@dataclass(frozen=True)
class ChannelGroup:
    """Channels kept or removed together: ``producer``'s filters, the channel-wise layers
    they pass through and the convs that consume them."""

    producer: str
    width: int
    channelwise: tuple[str, ...]
    consumers: tuple[str, ...]


def channel_groups(model: keras.Model) -> list[ChannelGroup]:
    """Every prunable group of ``model``, in layer order (a functional Keras model whose
    layers are each called once, as the builders make them)."""
    groups = []
    for layer in model.layers:
        if not _is_producer(layer):
            continue
        channelwise: list[str] = []
        consumers: list[str] = []
        frontier, ok = [layer], True
        while frontier and ok:
            current = frontier.pop()
            outs = _outbound(current)
            if not outs:  # a model output
                ok = False
            for nxt in outs:
                if _is_producer(nxt) or isinstance(nxt, L.Dense):
                    consumers.append(nxt.name)
                elif isinstance(nxt, L.Concatenate):
                    frontier.append(nxt)
                elif _is_channelwise(nxt):
                    channelwise.append(nxt.name)
                    frontier.append(nxt)
                else:  # Add, Multiply, Reshape, ...: the channels are tied to others
                    ok = False
        if ok and consumers:
            groups.append(
                ChannelGroup(layer.name, int(layer.filters), tuple(channelwise), tuple(consumers))
            )
    return groups


@dataclass
class _Origins:
    """For every channel of one tensor: the group it belongs to (-1: none) and its index
    in that group's producer."""

    group: np.ndarray
    channel: np.ndarray


def _origins(model: keras.Model, groups: Sequence[ChannelGroup]) -> dict[str, _Origins]:
    """The channel origins of every layer's output."""
    index = {g.producer: i for i, g in enumerate(groups)}
    out: dict[str, _Origins] = {}
    for layer in model.layers:
        width = _channels(layer)
        if layer.name in index:
            out[layer.name] = _Origins(
                np.full(width, index[layer.name]), np.arange(width, dtype=np.int64)
            )
        elif isinstance(layer, L.Concatenate):
            parts = [out[src.name] for src in _inbound(layer)]
            out[layer.name] = _Origins(
                np.concatenate([p.group for p in parts]),
                np.concatenate([p.channel for p in parts]),
            )
        elif _is_channelwise(layer) and not isinstance(layer, L.InputLayer):
            out[layer.name] = out[_inbound(layer)[0].name]
        else:
            out[layer.name] = _Origins(np.full(width, -1), np.arange(width, dtype=np.int64))
    return out


def _input_origins(layer: keras.layers.Layer, origins: Mapping[str, _Origins]) -> _Origins | None:
    sources = _inbound(layer)
    if len(sources) != 1 or sources[0].name not in origins:
        return None
    return origins[sources[0].name]


def _kept(o: _Origins, keep: Mapping[int, np.ndarray]) -> np.ndarray:
    """Indices of the channels of a tensor with origins ``o`` that survive ``keep``."""
    alive = np.ones(o.group.size, bool)
    for g, kept in keep.items():
        mine = o.group == g
        alive[mine] = np.isin(o.channel[mine], kept)
    return np.flatnonzero(alive)


@dataclass(frozen=True)
class ChannelPlan:
    """Which channels of each group survive (sorted indices), and what that costs."""

    groups: tuple[ChannelGroup, ...]
    keep: dict[str, np.ndarray] = field(repr=False)
    macs_before: int
    macs_after: int
    params_before: int
    params_after: int

    def widths(self) -> dict[str, tuple[int, int]]:
        """``{producer: (kept, original)}``."""
        return {g.producer: (int(self.keep[g.producer].size), g.width) for g in self.groups}

    def as_dict(self) -> dict[str, object]:
        return {
            "macs_before": self.macs_before,
            "macs_after": self.macs_after,
            "params_before": self.params_before,
            "params_after": self.params_after,
            "groups": {
                g.producer: {"kept": self.keep[g.producer].tolist(), "width": g.width}
                for g in self.groups
            },
        }

    @classmethod
    def from_dict(cls, model: keras.Model, record: Mapping[str, object]) -> ChannelPlan:
        """The plan ``as_dict`` wrote, checked against ``model``'s groups."""
        groups = tuple(channel_groups(model))
        saved = record["groups"]
        assert isinstance(saved, dict)
        if sorted(saved) != sorted(g.producer for g in groups):
            raise ValueError("the saved channel plan does not match this model's groups")
        keep = {name: np.asarray(v["kept"], np.int64) for name, v in saved.items()}
        return _costed(model, groups, keep)


def _sizes(
    model: keras.Model, groups: Sequence[ChannelGroup], keep: Mapping[str, np.ndarray]
) -> tuple[int, int]:
    """(MACs, parameters) of ``model`` with only ``keep``'s channels of each group."""
    origins = _origins(model, groups)
    index = {g.producer: i for i, g in enumerate(groups)}
    by_group = {index[name]: kept for name, kept in keep.items()}
    macs = params = 0
    for layer in model.layers:
        full_in = _input_origins(layer, origins)
        c_in = _kept(full_in, by_group).size if full_in is not None else None
        c_out = _kept(origins[layer.name], by_group).size
        macs += layer_macs(layer, c_in, c_out)
        params += _layer_params(layer, c_in, c_out)
    return macs, params


def _costed(
    model: keras.Model, groups: Sequence[ChannelGroup], keep: Mapping[str, np.ndarray]
) -> ChannelPlan:
    full = {g.producer: np.arange(g.width) for g in groups}
    macs_before, params_before = _sizes(model, groups, full)
    macs_after, params_after = _sizes(model, groups, keep)
    return ChannelPlan(
        tuple(groups), dict(keep), macs_before, macs_after, params_before, params_after
    )


def layer_macs(layer: keras.layers.Layer, c_in: int | None = None, c_out: int | None = None) -> int:
    """Multiply-accumulates of one conv, depthwise conv, transposed conv or dense layer for
    one input (batch 1), counted as ``tflite_graph`` counts them in the converted file;
    ``c_in``/``c_out`` override its channel counts."""
    if not isinstance(layer, L.Conv2D | L.DepthwiseConv2D | L.Dense):
        return 0
    out_shape = layer.output_shape
    in_shape = layer.input_shape
    c_out = int(out_shape[-1]) if c_out is None else c_out
    c_in = int(in_shape[-1]) if c_in is None else c_in
    spatial_out = int(np.prod(out_shape[1:-1]))
    if isinstance(layer, L.Dense):
        return spatial_out * c_in * c_out
    kh, kw = layer.kernel_size
    if isinstance(layer, L.DepthwiseConv2D):
        return spatial_out * kh * kw * c_out
    if isinstance(layer, L.Conv2DTranspose):
        return int(np.prod(in_shape[1:-1])) * kh * kw * c_in * c_out
    return spatial_out * kh * kw * c_in * c_out


def _layer_params(layer: keras.layers.Layer, c_in: int | None, c_out: int) -> int:
    if isinstance(layer, L.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return c_out * kh * kw + (c_out if layer.use_bias else 0)
    if isinstance(layer, L.Conv2D):
        kh, kw = layer.kernel_size
        return (c_in or 0) * c_out * kh * kw + (c_out if layer.use_bias else 0)
    if isinstance(layer, L.Dense):
        return (c_in or 0) * c_out + (c_out if layer.use_bias else 0)
    if isinstance(layer, L.BatchNormalization):
        return 4 * c_out
    return int(layer.count_params())


def model_macs(model: keras.Model) -> int:
    """MACs of one frame through ``model`` (conv, depthwise, transposed conv, dense)."""
    return sum(layer_macs(layer) for layer in model.layers)


def channel_importance(
    model: keras.Model,
    groups: Sequence[ChannelGroup],
    method: str,
    images: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """A score per channel of each group; the lowest go first.

    ``l2``: the L2 norm of the producer's filter (weights only). ``contribution``: the
    mean absolute activation a channel hands its consumers times the L2 norm of the
    consumer weights that read it, an estimate of how much of the consumers' output the
    channel carries (needs ``images``, normalized model inputs).
    """
    layers = {layer.name: layer for layer in model.layers}
    if method == "l2":
        scores = {}
        for g in groups:
            kernel = layers[g.producer].kernel.numpy()
            out_axis = 2 if isinstance(layers[g.producer], L.Conv2DTranspose) else kernel.ndim - 1
            moved = np.moveaxis(kernel, out_axis, 0).reshape(g.width, -1)
            scores[g.producer] = np.linalg.norm(moved, axis=1)
        return scores
    if method != "contribution":
        raise ValueError(f"unknown channel importance {method!r} (l2 or contribution)")
    if images is None or not len(images):
        raise ValueError("contribution importance needs calibration images")
    origins = _origins(model, groups)
    consumers = sorted({name for g in groups for name in g.consumers})
    # Each consumer's input: every channel's mean |activation| as that conv reads it.
    probe = keras.Model(model.inputs, [layers[name].input for name in consumers])
    sums = [np.zeros(int(layers[name].input_shape[-1])) for name in consumers]
    for start in range(0, len(images), 4):
        outs = probe(images[start : start + 4], training=False)
        outs = outs if isinstance(outs, list | tuple) else [outs]
        for i, out in enumerate(outs):
            sums[i] += np.abs(np.asarray(out)).mean(axis=(1, 2)).sum(axis=0)
    scores = {g.producer: np.zeros(g.width) for g in groups}
    for name, total in zip(consumers, sums, strict=True):
        consumer = layers[name]
        o = _input_origins(consumer, origins)
        assert o is not None
        kernel = consumer.kernel.numpy()
        in_axis = _in_axis(consumer)
        rows = np.moveaxis(kernel, in_axis, 0).reshape(kernel.shape[in_axis], -1)
        carried = total / len(images) * np.linalg.norm(rows, axis=1)
        for i, g in enumerate(groups):
            mine = np.flatnonzero(o.group == i)
            np.add.at(scores[g.producer], o.channel[mine], carried[mine])
    return scores


def _in_axis(layer: keras.layers.Layer) -> int:
    """The input-channel axis of a consumer's kernel."""
    if isinstance(layer, L.Conv2DTranspose):  # [kh, kw, out, in]
        return 3
    return 0 if isinstance(layer, L.Dense) else 2


def _keep_ratio(cfg: ChannelPruningConfig, producer: str) -> float:
    for rule in cfg.layers:
        if re.search(rule.match, producer):
            return rule.keep
    return cfg.keep


def _count(width: int, ratio: float, round_to: int) -> int:
    if ratio >= 1.0:
        return width
    n = round(width * ratio / round_to) * round_to
    return int(min(width, max(round_to, n)))


def plan_channels(
    model: keras.Model,
    cfg: ChannelPruningConfig,
    images: np.ndarray | None = None,
) -> ChannelPlan:
    """Which channels to keep: each group keeps its ratio (``cfg.layers`` by producer
    name, else ``cfg.keep``) of its most important channels, rounded to ``round_to``.
    With ``target_gmacs``, every ratio below 1 is scaled by one factor, the largest that
    brings the model within the target.

    Raises ``ValueError`` when the target cannot be reached (every group at its minimum).
    """
    groups = channel_groups(model)
    if not groups:
        raise ValueError(f"{model.name}: no prunable channel groups")
    scores = channel_importance(model, groups, cfg.importance, images)
    ratios = {g.producer: _keep_ratio(cfg, g.producer) for g in groups}

    def keep_for(scale: float) -> dict[str, np.ndarray]:
        keep = {}
        for g in groups:
            r = ratios[g.producer]
            n = _count(g.width, r if r >= 1.0 else min(1.0, r * scale), cfg.round_to)
            order = np.argsort(-scores[g.producer], kind="stable")[:n]
            keep[g.producer] = np.sort(order)
        return keep

    keep = keep_for(1.0)
    if cfg.target_gmacs is not None:
        target = cfg.target_gmacs * 1e9
        lo, hi = 0.0, 1.0 / max(min(r for r in ratios.values()), 1e-6)
        if _sizes(model, groups, keep_for(lo))[0] > target:
            floor = _sizes(model, groups, keep_for(lo))[0]
            raise ValueError(
                f"channel_pruning.target_gmacs {cfg.target_gmacs} is out of reach: with every "
                f"group at its minimum the model still needs {floor / 1e9:.3f} GMACs"
            )
        for _ in range(30):
            mid = (lo + hi) / 2
            if _sizes(model, groups, keep_for(mid))[0] <= target:
                lo = mid
            else:
                hi = mid
        keep = keep_for(lo)
    return _costed(model, groups, keep)


def _in_out(
    model: keras.Model, plan: ChannelPlan
) -> dict[str, tuple[np.ndarray | None, np.ndarray]]:
    origins = _origins(model, plan.groups)
    index = {g.producer: i for i, g in enumerate(plan.groups)}
    by_group = {index[n]: k for n, k in plan.keep.items()}
    found: dict[str, tuple[np.ndarray | None, np.ndarray]] = {}
    for layer in model.layers:
        o = _input_origins(layer, origins)
        found[layer.name] = (
            _kept(o, by_group) if o is not None else None,
            _kept(origins[layer.name], by_group),
        )
    return found


def _sliced(
    layer: keras.layers.Layer, keep_in: np.ndarray | None, keep_out: np.ndarray
) -> list[np.ndarray]:
    weights = layer.get_weights()
    if not weights:
        return weights
    if isinstance(layer, L.DepthwiseConv2D):
        return [weights[0][:, :, keep_out], *(w[keep_out] for w in weights[1:])]
    if isinstance(layer, L.Conv2DTranspose):  # kernel [kh, kw, out, in]
        assert keep_in is not None
        return [weights[0][:, :, keep_out][..., keep_in], *(w[keep_out] for w in weights[1:])]
    if isinstance(layer, L.Conv2D):  # kernel [kh, kw, in, out]
        assert keep_in is not None
        return [weights[0][:, :, keep_in][..., keep_out], *(w[keep_out] for w in weights[1:])]
    if isinstance(layer, L.Dense):
        assert keep_in is not None
        return [weights[0][keep_in][:, keep_out], *(w[keep_out] for w in weights[1:])]
    if isinstance(layer, L.BatchNormalization):
        return [w[keep_out] for w in weights]
    if keep_out.size != _channels(layer):
        raise ValueError(f"cannot prune through {layer.name} ({type(layer).__name__})")
    return weights


def prune_channels(model: keras.Model, plan: ChannelPlan) -> keras.Model:
    """A new, smaller model with only the plan's channels, computing what ``model`` with
    those channels masked out (:func:`mask_channels`) computes."""
    widths = {name: int(kept.size) for name, kept in plan.keep.items()}

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        if layer.name in widths:
            config["filters"] = widths[layer.name]
        return layer.__class__.from_config(config)

    smaller = keras.models.clone_model(model, clone_function=clone)
    for layer, (keep_in, keep_out) in zip(
        smaller.layers, _in_out(model, plan).values(), strict=True
    ):
        layer.set_weights(_sliced(model.get_layer(layer.name), keep_in, keep_out))
    return smaller


def mask_channels(model: keras.Model, plan: ChannelPlan) -> None:
    """Zero, in place, the consumer weights that read a removed channel: the model then
    computes exactly what :func:`prune_channels` builds (what the tests hold it to)."""
    origins = _origins(model, plan.groups)
    index = {g.producer: i for i, g in enumerate(plan.groups)}
    layers = {layer.name: layer for layer in model.layers}
    for g in plan.groups:
        gone = np.setdiff1d(np.arange(g.width), plan.keep[g.producer])
        for name in g.consumers:
            consumer = layers[name]
            o = _input_origins(consumer, origins)
            assert o is not None
            rows = np.flatnonzero((o.group == index[g.producer]) & np.isin(o.channel, gone))
            weights = consumer.get_weights()
            np.moveaxis(weights[0], _in_axis(consumer), 0)[rows] = 0.0
            consumer.set_weights(weights)


def prune_for_stage(
    model: keras.Model, cfg: ExperimentConfig, images: Sequence[Path], record: Path
) -> keras.Model:
    """The channel-pruned model a training stage fine-tunes. The plan is written to
    ``record`` (``channels.json``) and read back when the stage resumes, so a resumed run
    rebuilds exactly the model its backup holds weights for."""
    if record.exists():
        plan = ChannelPlan.from_dict(model, json.loads(record.read_text()))
    else:
        c = cfg.channel_pruning
        x = model_inputs(images, cfg.input.spec(), c.calibration_images)
        plan = plan_channels(model, c, x if c.importance == "contribution" else None)
        record.write_text(json.dumps(plan.as_dict()))
    print(
        f"channel pruning: {plan.macs_before / 1e9:.3f} -> {plan.macs_after / 1e9:.3f} GMACs, "
        f"{plan.params_before:,} -> {plan.params_after:,} parameters",
        flush=True,
    )
    return prune_channels(model, plan)
