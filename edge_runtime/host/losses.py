"""The training losses and the optimizer: cross-entropy at the labels' resolution, the
distillation loss, Adam with a slower pretrained encoder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edge_runtime.host.config import ExperimentConfig
from edge_runtime.host.tf_compat import keras, tf


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
