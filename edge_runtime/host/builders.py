"""The models a config describes, and the trained ones a stage starts from."""

from __future__ import annotations

from pathlib import Path

from edge_runtime.host.config import ExperimentConfig
from edge_runtime.host.tf_compat import keras

# A stage's record of the channels it removed (``host.channel_pruning``).
CHANNEL_PLAN = "channels.json"


def build_model(cfg: ExperimentConfig) -> keras.Model:
    """The config's architecture; a pretrained backbone comes with its ImageNet weights."""
    n = len(cfg.data.labels)
    h, w, m = cfg.input.height, cfg.input.width, cfg.model
    if m.backbone == "mobilenet_v2":
        from edge_runtime.host.fcn import build_mobilenet_fcn32s
        from edge_runtime.host.mobilenet_v2 import load_imagenet_weights
        from edge_runtime.host.unet import build_mobilenet_unet

        model = (
            build_mobilenet_unet(
                h,
                w,
                n,
                decoder_filters=m.decoder_filters,
                skip_batch_norm=m.skip_batch_norm,
                upsampling=m.upsampling,
                output_stride=m.output_stride,
                name=cfg.name,
            )
            if m.arch == "unet"
            else build_mobilenet_fcn32s(h, w, n, name=cfg.name)
        )
        weights = m.pretrained_path()
        if weights is not None:
            load_imagenet_weights(model, weights)
        return model
    if m.arch == "unet":
        from edge_runtime.host.unet import build_unet

        return build_unet(
            h,
            w,
            n,
            filters=m.filters,
            depth=m.depth,
            kernel_size=m.kernel_size,
            batch_norm=m.batch_norm,
            dropout=m.dropout,
            name=cfg.name,
        )
    from edge_runtime.host.fcn import build_fcn32s

    return build_fcn32s(h, w, n, name=cfg.name)


def initial_model(cfg: ExperimentConfig) -> keras.Model:
    """The config's model, with ``train.init_from``'s weights when it names a trained one.

    A channel-pruned model (same layers, fewer channels, a ``channels.json`` beside it) is
    taken as it is: its widths are in the file, not in the config."""
    model = build_model(cfg)
    path = cfg.train.init_from
    if path is None:
        return model
    if not path.exists():
        raise FileNotFoundError(f"train.init_from: no model at {path}{made_by(path)}")
    source = load_model(path)
    # A frozen-encoder stage saves its encoder as non-trainable, and Keras lists trainable
    # weights first: unfreeze so both models list their weights in the same order.
    source.trainable = True
    shapes = [w.shape for w in source.get_weights()]
    if shapes == [w.shape for w in model.get_weights()]:
        model.set_weights(source.get_weights())
        return model
    if (path.parent / CHANNEL_PLAN).exists() and _narrower(source, model):
        return keras.Model(source.inputs, source.outputs, name=cfg.name)
    raise ValueError(
        f"train.init_from: {path} does not have this config's architecture "
        f"({len(shapes)} weight tensors vs {len(model.get_weights())})"
    )


def _narrower(source: keras.Model, model: keras.Model) -> bool:
    """Whether ``source`` is ``model`` with channels removed: the same layers on the same
    input, no weight larger."""
    if source.inputs[0].shape[1:] != model.inputs[0].shape[1:]:
        return False
    if [layer.name for layer in source.layers] != [layer.name for layer in model.layers]:
        return False
    for a, b in zip(source.layers, model.layers, strict=True):
        sa, sb = [w.shape for w in a.get_weights()], [w.shape for w in b.get_weights()]
        if len(sa) != len(sb) or any(
            len(x) != len(y) or any(i > j for i, j in zip(x, y, strict=True))
            for x, y in zip(sa, sb, strict=True)
        ):
            return False
    return True


def load_model(path: Path) -> keras.Model:
    return keras.models.load_model(path, compile=False)


def made_by(path: Path) -> str:
    """How to make ``runs/NAME/*.keras``: the stage that writes it, when a shipped config
    does (`` (make it with: ...)``), else nothing."""
    from edge_runtime.host.config import shipped_config

    parts = path.parts
    if len(parts) >= 3 and parts[-3] == "runs":
        config = shipped_config(parts[-2])
        if config is not None:
            return f" (make it with: edge-host rebuild {parts[-2]})"
    return " (train the config that writes it first)"
