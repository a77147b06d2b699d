"""One training stage: data, model, optional pruning (weights or channels), distillation,
the fit. The parts live beside it: ``builders`` (the models), ``weight_pruning``
(TFMOT pruning and clustering), ``channel_pruning``, ``distill``, ``losses``, ``callbacks``
(per-epoch scores, plots, the best model) and ``evaluation``.

``train(config, out_dir)`` writes into ``out_dir``:
``history.csv`` (one row per epoch), ``best.keras`` (stripped model with the best val mIoU
among the epochs that reached the target sparsity), ``final.keras``, ``backup/`` (resume
state), ``class_weights.json``, ``config.yaml`` and the per-epoch plots (``*.png``).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from edge_runtime.host.builders import CHANNEL_PLAN, initial_model, made_by
from edge_runtime.host.callbacks import EpochReport, PlotHistory
from edge_runtime.host.config import ExperimentConfig
from edge_runtime.host.datasets import (
    Augment,
    make_dataset,
    median_frequency_weights,
    split_pairs,
)
from edge_runtime.host.losses import LayerwiseAdam, encoder_variables, training_loss
from edge_runtime.host.tf_compat import keras, tf, tfmot
from edge_runtime.host.weight_pruning import (
    cluster_conv_layers,
    planned_sparsity,
    prune_conv_layers,
    strip_wrappers,
    zero_weights,
)


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
                    "train": cfg.train.model_copy(update={"epochs": frozen, "stop_after": None}),
                    "pruning": cfg.pruning.model_copy(update={"enabled": False}),
                }
            )
            _fit(head, stage, verbose=verbose, freeze_encoder=True)
        cfg = cfg.model_copy(
            update={
                "train": cfg.train.model_copy(
                    update={
                        "epochs": cfg.train.epochs - frozen,
                        "stop_after": None
                        if cfg.train.stop_after is None
                        else cfg.train.stop_after - frozen,
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
    update = {"epochs": epochs, "freeze_encoder_epochs": freeze, "stop_after": None}
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
        epochs=cfg.train.stop_after or cfg.train.epochs,
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
