"""Magnitude pruning and weight clustering (tensorflow-model-optimization): zeros and
shared values within each conv kernel, which shrink the compressed file."""

from __future__ import annotations

import numpy as np

from edge_runtime.host.config import ExperimentConfig, PruningConfig
from edge_runtime.host.tf_compat import keras, tfmot

PRUNABLE = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)


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
