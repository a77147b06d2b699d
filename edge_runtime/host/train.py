"""Training with magnitude pruning during training (tensorflow-model-optimization).

``train(config, out_dir)`` writes into ``out_dir``:
``history.csv`` (one row per epoch), ``best.keras`` (stripped model with the best val mIoU
among the epochs that reached the target sparsity), ``final.keras``, ``backup/`` (resume
state), ``class_weights.json``, ``config.yaml`` and the per-epoch plots (``*.png``).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image

from edge_runtime.bundle import InputSpec
from edge_runtime.host.config import ExperimentConfig, PruningConfig
from edge_runtime.host.datasets import (
    Augment,
    make_dataset,
    median_frequency_weights,
    split_pairs,
)
from edge_runtime.host.inputs import model_input
from edge_runtime.host.tf_compat import keras, tf, tfmot
from edge_runtime.postprocess import to_image_size
from edge_runtime.preprocess import place
from edge_runtime.scoring import ConfusionAccumulator

PRUNABLE = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
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


def prune_conv_layers(model: keras.Model, cfg: ExperimentConfig, total_steps: int) -> keras.Model:
    """Wrap every conv layer in ``prune_low_magnitude`` with the config's PolynomialDecay
    (per layer, ``pruning.layers`` may set other sparsities; a layer set to 0 is left alone)."""
    p = cfg.pruning
    begin, end = p.steps(total_steps)

    def wrap(layer: keras.layers.Layer) -> keras.layers.Layer:
        if not isinstance(layer, PRUNABLE):
            return layer
        initial, final = p.layer_sparsity(layer.name)
        if final == 0.0:
            return layer
        schedule = tfmot.sparsity.keras.PolynomialDecay(
            initial_sparsity=initial,
            final_sparsity=final,
            begin_step=begin,
            end_step=end,
            frequency=p.frequency,
            power=p.power,
        )
        return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)

    return keras.models.clone_model(model, clone_function=wrap)


def planned_sparsity(model: keras.Model, cfg: ExperimentConfig) -> float:
    """The zero-weight fraction over all conv kernels an epoch must reach to be selected:
    the size-weighted mean of each layer's final sparsity (the config's, or its
    ``pruning.layers``'); 0 without pruning (clustering keeps the init model's zeros)."""
    if not cfg.pruning.enabled:
        return 0.0
    zeros = total = 0.0
    for layer in conv_layers(model):
        size = int(np.prod(layer.kernel.shape))
        zeros += size * cfg.pruning.layer_sparsity(layer.name)[1]
        total += size
    return zeros / total if total else 0.0


def prune_once(model: keras.Model, pruning: PruningConfig) -> float:
    """Magnitude-prune ``model``'s conv kernels in place, at once, each to its final
    sparsity under ``pruning`` (no fine-tuning); returns the zero fraction reached.

    The smallest-magnitude weights of each kernel go, as ``prune_low_magnitude`` picks
    them: how much a sparsity split costs a trained dense model before any recovery is a
    quick guide to splitting it (``bench/pruning_allocation.py``)."""
    zeros = total = 0
    for layer in conv_layers(model):
        kernel = layer.kernel.numpy()
        drop = round(pruning.layer_sparsity(layer.name)[1] * kernel.size)
        flat = kernel.reshape(-1)
        flat[np.argsort(np.abs(flat), kind="stable")[:drop]] = 0.0
        layer.kernel.assign(kernel)
        zeros += int((kernel == 0).sum())
        total += kernel.size
    return zeros / total if total else 0.0


def cluster_conv_layers(model: keras.Model, cfg: ExperimentConfig) -> keras.Model:
    """Wrap every conv layer in ``cluster_weights``, keeping its zeros (sparsity-preserving
    clustering: the pruning mask survives fine-tuning)."""
    cl = tfmot.clustering.keras
    init = getattr(cl.CentroidInitialization, cfg.clustering.init.upper())

    def wrap(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, PRUNABLE):
            return cl.cluster_weights(
                layer,
                number_of_clusters=cfg.clustering.clusters,
                cluster_centroids_init=init,
                preserve_sparsity=True,
            )
        return layer

    return keras.models.clone_model(model, clone_function=wrap)


def strip_wrappers(model: keras.Model, cfg: ExperimentConfig) -> keras.Model:
    """The plain Keras model that export converts (pruning or clustering wrappers removed)."""
    if cfg.clustering.enabled:
        return tfmot.clustering.keras.strip_clustering(model)
    if cfg.pruning.enabled:
        return tfmot.sparsity.keras.strip_pruning(model)
    return model


def conv_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The prunable conv layers (unwrapped from pruning or clustering wrappers)."""
    inner = (getattr(layer, "layer", layer) for layer in model.layers)
    return [layer for layer in inner if isinstance(layer, PRUNABLE)]


def conv_kernels(model: keras.Model) -> list[np.ndarray]:
    """Kernels of the conv layers (through pruning wrappers)."""
    return [layer.kernel.numpy() for layer in conv_layers(model)]


def zero_weights(model: keras.Model) -> tuple[int, int]:
    """(zero weights, all weights) over the conv kernels."""
    kernels = conv_kernels(model)
    return sum(int((k == 0).sum()) for k in kernels), sum(k.size for k in kernels)


def predict_logits(model: keras.Model, image: Image.Image, spec: InputSpec) -> np.ndarray:
    """Model-resolution logits (H, W, classes) of the Keras model for one RGB image, fed
    exactly what the device pipeline feeds its interpreter (same resize, same normalization)."""
    return np.asarray(model(model_input(image, spec)[None], training=False)[0])


def predict_labels(model: keras.Model, image: Image.Image, spec: InputSpec) -> np.ndarray:
    """Model-resolution argmax of :func:`predict_logits`."""
    return predict_logits(model, image, spec).argmax(axis=-1).astype(np.uint8)


def evaluate_keras(
    model: keras.Model, pairs: Sequence[tuple[Path, Path]], cfg: ExperimentConfig
) -> ConfusionAccumulator:
    """Val scores at the masks' own resolution, upsampled like the device does."""
    spec = cfg.input.spec()
    acc = ConfusionAccumulator(cfg.data.labels, cfg.data.ignore_index)
    for image_path, mask_path in pairs:
        with Image.open(image_path) as im:
            image = im.convert("RGB")
        with Image.open(mask_path) as m:
            mask = np.asarray(m)
        small = predict_labels(model, image, spec)
        full = to_image_size(small, place(image.size, spec), (mask.shape[1], mask.shape[0]))
        acc.add(mask, full)
    return acc


class EpochReport(keras.callbacks.Callback):
    """Adds val mIoU, per-class IoU, pixel accuracy, sparsity and lr to the epoch logs;
    keeps the best model."""

    def __init__(
        self,
        cfg: ExperimentConfig,
        val_pairs: Sequence[tuple[Path, Path]],
        out: Path,
        *,
        target_sparsity: float,
        select_last: bool = False,
    ):
        super().__init__()
        self.cfg, self.val_pairs, self.out = cfg, val_pairs, out
        self.target_sparsity = target_sparsity
        # Training on val too: its scores are no longer a selection criterion.
        self.select_last = select_last
        self.best_path = out / "best.json"
        self.started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        # Scored as exported: clustering's wrappers hold the kernels the strip writes out.
        stripped = strip_wrappers(self.model, self.cfg)
        scores = evaluate_keras(stripped, self.val_pairs, self.cfg).scores()
        zeros, total = zero_weights(stripped)
        sparsity = zeros / max(total, 1)
        logs.update(
            val_miou=scores.mean_iou,
            val_pixel_accuracy=scores.pixel_accuracy,
            zero_weights=zeros,
            sparsity=sparsity,
            lr=float(keras.backend.get_value(self.model.optimizer.learning_rate)),
        )
        # One column per class: a single class's curve (person on COCO) is what a recipe
        # change is often about, and best.json has it only for the selected epoch.
        logs.update(
            {
                f"val_iou_{name}": float(iou)
                for name, iou in zip(scores.class_names, scores.iou, strict=True)
            }
        )
        target = self.target_sparsity
        best = json.loads(self.best_path.read_text()) if self.best_path.exists() else None
        better = best is None or self.select_last or scores.mean_iou > best["val_miou"]
        if sparsity >= target - 0.005 and better:
            stripped.save(self.out / "best.keras")
            record = {
                "epoch": epoch + 1,
                "val_miou": scores.mean_iou,
                "sparsity": sparsity,
                **scores.as_dict(),
            }
            self.best_path.write_text(json.dumps(record, indent=2))
        seconds = time.monotonic() - self.started
        print(
            f"{self.out.name} epoch {epoch + 1}/{self.params.get('epochs', '?')}: loss "
            f"{logs.get('loss', float('nan')):.4f}  val mIoU {scores.mean_iou:.4f}  sparsity "
            f"{sparsity:.3f}  {seconds:.0f} s",
            flush=True,
        )

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.started = time.monotonic()


class PlotHistory(keras.callbacks.Callback):
    """Redraws the seed's figures from history.csv after every epoch."""

    def __init__(self, out: Path):
        super().__init__()
        self.out = out

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        plot_history(self.out / "history.csv", self.out)


def plot_history(csv_path: Path, out: Path) -> list[Path]:
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not csv_path.exists():
        return []
    with csv_path.open() as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return []
    epochs = [int(r["epoch"]) + 1 for r in rows]
    written = []
    for key, title in (
        ("loss", "training loss"),
        ("val_pixel_accuracy", "val pixel accuracy"),
        ("val_miou", "val mIoU"),
        ("zero_weights", "zero weights (conv kernels)"),
    ):
        if key not in rows[0]:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
        ax.plot(epochs, [float(r[key]) for r in rows], marker="o", markersize=3)
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out / f"{key}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def train(
    cfg: ExperimentConfig, out: Path, *, verbose: int = 1, max_epochs: int | None = None
) -> Path:
    """Train (resuming from ``out/backup`` when present); returns the best model's path.

    With ``train.freeze_encoder_epochs``, a first stage in ``out/frozen_encoder/`` trains
    everything but the pretrained encoder for that many epochs (no pruning); the main stage
    then starts from its last epoch with the encoder trainable, for the remaining epochs.
    ``max_epochs`` caps each of the two (:func:`capped`).
    ``verbose``: 0 one short line per epoch, 1 Keras' progress bar as well.

    Raises ``FileNotFoundError`` / ``ValueError`` before anything is written when an input
    (data, ``train.init_from``, the teacher) is missing or too small.
    """
    check_inputs(cfg)
    if max_epochs is not None:
        cfg = capped(cfg, max_epochs)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    frozen = cfg.train.freeze_encoder_epochs
    if frozen and cfg.train.init_from is None:
        stage = out / "frozen_encoder"
        if not (stage / "final.keras").exists():
            head = cfg.model_copy(
                update={
                    "train": cfg.train.model_copy(update={"epochs": frozen}),
                    "pruning": cfg.pruning.model_copy(update={"enabled": False}),
                }
            )
            _fit(head, stage, verbose=verbose, freeze_encoder=True)
        cfg = cfg.model_copy(
            update={
                "train": cfg.train.model_copy(
                    update={
                        "epochs": cfg.train.epochs - frozen,
                        "freeze_encoder_epochs": 0,
                        "init_from": stage / "final.keras",
                    }
                )
            }
        )
    return _fit(cfg, out, verbose=verbose)


def capped(cfg: ExperimentConfig, max_epochs: int) -> ExperimentConfig:
    """``cfg`` with each of its stages (the frozen-encoder one and the rest) at most
    ``max_epochs`` long: a quick trial of a config, recorded as what it ran."""
    t = cfg.train
    frozen = t.freeze_encoder_epochs if t.init_from is None else 0
    head = min(frozen, max_epochs)
    epochs = head + min(t.epochs - frozen, max_epochs)
    freeze = head if frozen else t.freeze_encoder_epochs
    update = {"epochs": epochs, "freeze_encoder_epochs": freeze}
    return cfg.model_copy(update={"train": t.model_copy(update=update)})


def check_inputs(cfg: ExperimentConfig) -> None:
    """What a run needs before it starts: its data, its starting model and its teacher."""
    for split in ("train", "val"):
        images = cfg.data.resolve(getattr(cfg.data, f"{split}_images"))
        if not images.is_dir():
            raise FileNotFoundError(f"data.{split}_images: no folder {images}")
    for field, path in (
        ("train.init_from", cfg.train.init_from),
        ("distillation.teacher", cfg.distillation.teacher),
    ):
        if path is not None and not path.exists():
            raise FileNotFoundError(f"{field}: no model at {path}{made_by(path)}")


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


def class_weights(cfg: ExperimentConfig, masks: Sequence[Path]) -> np.ndarray | None:
    """The loss's per-class weights: median frequency ** power, capped; None unweighted."""
    if cfg.train.class_weighting != "median_frequency":
        return None
    full = median_frequency_weights(masks, len(cfg.data.labels))
    return np.minimum(full**cfg.train.class_weight_power, cfg.train.max_class_weight)


def _fit(cfg: ExperimentConfig, out: Path, *, verbose: int, freeze_encoder: bool = False) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    tf.keras.utils.set_random_seed(cfg.train.seed)
    if cfg.train.deterministic:
        tf.config.experimental.enable_op_determinism()
    d = cfg.data
    train_pairs = split_pairs(d, "train")
    val_pairs = split_pairs(d, "val")
    if cfg.train.include_val:
        train_pairs = [*train_pairs, *val_pairs]
    if cfg.train.val_limit:
        val_pairs = val_pairs[: cfg.train.val_limit]
    weights = class_weights(cfg, [m for _, m in train_pairs])
    teacher: list[Path] | None = None
    teacher_shape: tuple[int, int, int] | None = None
    if cfg.distillation.enabled:
        from edge_runtime.host.distill import teacher_logits

        teacher, teacher_shape = teacher_logits(
            cfg, [p for p, _ in train_pairs], progress=verbose > 0
        )
    if weights is not None:
        (out / "class_weights.json").write_text(
            json.dumps(dict(zip(d.labels, map(float, weights), strict=True)), indent=2)
        )
    if not train_pairs or not val_pairs:
        raise ValueError(
            f"{cfg.data.name}: {len(train_pairs)} training and {len(val_pairs)} validation "
            "image/mask pairs; a run needs at least one of each"
        )
    batch_size = cfg.train.batch_size
    if len(train_pairs) < batch_size:
        batch_size = len(train_pairs)
        print(
            f"note: batch size {cfg.train.batch_size} capped to {batch_size}: the training "
            f"data has {batch_size} images",
            flush=True,
        )
    a = cfg.train.augment
    ds = make_dataset(
        train_pairs,
        height=cfg.input.height,
        width=cfg.input.width,
        mean=cfg.input.mean,
        std=cfg.input.std,
        ignore_index=d.ignore_index,
        class_weights=weights,
        batch_size=batch_size,
        shuffle=True,
        seed=cfg.train.seed,
        augment=Augment(a.scale_min, a.scale_max, a.flip, a.photometric),
        teacher=teacher,
        teacher_shape=teacher_shape,
    )
    steps = cfg.train.steps_per_epoch or max(1, len(train_pairs) // batch_size)
    total = steps * cfg.train.epochs
    ds = ds.repeat()
    model = initial_model(cfg)
    if cfg.channel_pruning.enabled:
        from edge_runtime.host.channel_pruning import prune_for_stage

        model = prune_for_stage(model, cfg, [p for p, _ in train_pairs], out / CHANNEL_PLAN)
    elif cfg.train.init_from is not None and (cfg.train.init_from.parent / CHANNEL_PLAN).exists():
        # Started from a channel-pruned model: the record of its widths travels with it.
        shutil.copy2(cfg.train.init_from.parent / CHANNEL_PLAN, out / CHANNEL_PLAN)
    if freeze_encoder:
        from edge_runtime.host.mobilenet_v2 import is_encoder_layer

        for layer in model.layers:
            if is_encoder_layer(layer):
                layer.trainable = False
    target = planned_sparsity(model, cfg)
    if cfg.pruning.enabled:
        model = prune_conv_layers(model, cfg, total)
    if cfg.clustering.enabled:
        model = cluster_conv_layers(model, cfg)
    schedule = keras.optimizers.schedules.CosineDecay(
        cfg.train.learning_rate, total, alpha=cfg.train.min_learning_rate / cfg.train.learning_rate
    )
    model.compile(
        optimizer=LayerwiseAdam(
            schedule, slow=encoder_variables(model), factor=cfg.train.encoder_lr_factor
        ),
        loss=training_loss(cfg),
    )
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.BackupAndRestore(str(out / "backup")),
        EpochReport(cfg, val_pairs, out, target_sparsity=target, select_last=cfg.train.include_val),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
        PlotHistory(out),
    ]
    if cfg.pruning.enabled:
        callbacks.insert(0, tfmot.sparsity.keras.UpdatePruningStep())
    model.fit(
        ds,
        epochs=cfg.train.epochs,
        steps_per_epoch=steps,
        callbacks=callbacks,
        verbose=1 if verbose > 0 else 0,
    )
    final = strip_wrappers(model, cfg)
    final.save(out / "final.keras")
    best = out / "best.keras"
    if not best.exists():  # target sparsity never reached (very short runs): keep the last
        final.save(best)
        zeros, total = zero_weights(final)
        print(
            f"warning: no epoch reached the target sparsity {target:.1%} "
            f"(last: {zeros / max(total, 1):.1%}); best.keras is the last epoch, below target",
            file=sys.stderr,
            flush=True,
        )
    return best


class LabelResolutionCrossEntropy(keras.losses.Loss):
    """Sparse softmax cross-entropy at the labels' resolution: logits coarser than the
    labels (``model.output_stride`` > 1) are bilinear-resized up to them first, so the
    loss sees every labelled pixel rather than a subsampled mask (poles and signs are a few
    pixels wide)."""

    def __init__(self, name: str = "label_resolution_cross_entropy") -> None:
        super().__init__(name=name)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        if y_pred.shape[1:3] != y_true.shape[1:3]:
            y_pred = tf.image.resize(y_pred, tf.shape(y_true)[1:3], method="bilinear")
        return keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)


class LayerwiseAdam(keras.optimizers.Adam):
    """Adam whose steps on the ``slow`` variables are ``factor`` times as long.

    Scaling the gradient would not do it: Adam divides the scale out again. Each slow
    variable's step is taken in full, then shortened, so any Adam variant works alike.
    """

    def __init__(
        self,
        learning_rate: Any,
        *,
        slow: Sequence[tf.Variable] = (),
        factor: float = 1.0,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self.factor = factor
        self._slow = {self._var_key(v) for v in slow} if factor != 1.0 else set()

    def update_step(self, gradient: tf.Tensor, variable: tf.Variable) -> None:
        if self._var_key(variable) not in self._slow:
            super().update_step(gradient, variable)
            return
        before = tf.identity(variable)
        super().update_step(gradient, variable)
        variable.assign(before + self.factor * (variable - before))


def encoder_variables(model: keras.Model) -> list[tf.Variable]:
    """The pretrained encoder's trainable variables (through pruning/clustering wrappers)."""
    from edge_runtime.host.mobilenet_v2 import is_encoder_layer

    return [
        w
        for layer in model.layers
        if is_encoder_layer(getattr(layer, "layer", layer))
        for w in layer.trainable_weights
    ]


def training_loss(cfg: ExperimentConfig) -> keras.losses.Loss:
    if cfg.distillation.enabled:
        from edge_runtime.host.distill import DistillationLoss

        return DistillationLoss(cfg.distillation.temperature, cfg.distillation.weight)
    return LabelResolutionCrossEntropy()


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
