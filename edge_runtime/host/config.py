"""Training configuration: one YAML file per shipped model (the seed's ``cfg`` dict)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from edge_runtime.bundle import InputSpec
from edge_runtime.defaults import checkout, data_root
from edge_runtime.errors import SettingsError
from edge_runtime.suggest import did_you_mean
from edge_runtime.yaml_files import read_yaml_mapping


def _repository_folder(env: str, *parts: str) -> Path:
    """``$env``, else that folder of the repository (the host companion trains from a
    checkout); a one-line ``SettingsError`` outside one."""
    value = os.environ.get(env)
    if value:
        return Path(value)
    root = checkout()
    if root is None:
        raise SettingsError(
            f"set {env}: outside a checkout of the repository there is no {'/'.join(parts)}"
        )
    return root.joinpath(*parts)


def configs_root() -> Path:
    """The shipped training configs: ``EDGE_RUNTIME_CONFIGS``, else the repository's
    ``models/configs``."""
    return _repository_folder("EDGE_RUNTIME_CONFIGS", "models", "configs")


def shipped_config(name: str) -> Path | None:
    """``configs_root()/NAME.yaml`` when it exists."""
    path = configs_root() / f"{name}.yaml"
    return path if path.is_file() else None


def weights_root() -> Path:
    """Where relative pretrained-weight paths point: ``EDGE_RUNTIME_WEIGHTS``, else the
    repository's ``models/pretrained`` (committed, Apache-2.0, 3.4 MB: training needs
    nothing beside a clone)."""
    return _repository_folder("EDGE_RUNTIME_WEIGHTS", "models", "pretrained")


def decoder_problem(levels: int, upsampling: str, output_stride: int) -> str | None:
    """Why a MobileNetV2 U-Net decoder of ``levels`` levels (strides 16, 8, 4, 2 in turn)
    cannot have this upsampling and output stride, or ``None`` when it can. Shared by the
    config (refused at load, before TensorFlow) and the builder."""
    if not 1 <= levels <= 4:
        return f"decoder_filters needs 1-4 widths (strides 16, 8, 4, 2), got {levels}"
    last_stride = 32 >> levels
    if upsampling == "transpose" and (last_stride != 2 or output_stride != 1):
        return (
            "upsampling transpose needs 4 decoder_filters and output_stride 1 "
            f"(got {levels} levels, output_stride {output_stride})"
        )
    if output_stride not in (1, 2, 4) or output_stride > last_stride:
        return (
            f"output_stride must be 1, 2 or 4 and at most the last level's stride "
            f"({last_stride}), got {output_stride}"
        )
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(_Strict):
    """``backbone: seed`` is the seed's own encoder (the plain U-Net's conv blocks, ResNet50
    for FCN-32s), trained from scratch; ``mobilenet_v2`` is the ImageNet MobileNetV2 read
    from ``pretrained`` (relative to ``weights_root()``)."""

    arch: Literal["unet", "fcn32s"] = "unet"
    backbone: Literal["seed", "mobilenet_v2"] = "seed"
    pretrained: Path | None = None
    filters: int = Field(16, ge=1)
    depth: int = Field(4, ge=1, le=6)
    kernel_size: int = Field(3, ge=1)
    batch_norm: bool = True
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    # MobileNetV2 U-Net: one width per decoder level, strides 16, 8, 4, 2 in turn (fewer
    # entries stop the decoder at a coarser stride).
    decoder_filters: tuple[int, ...] = Field((128, 64, 48, 32), min_length=1, max_length=4)
    # MobileNetV2 U-Net: batch-normalize each skip before the concat. The skips are linear
    # bottleneck outputs (std 4-6, peaks past 50, against ~0.8 on the decoder's side).
    skip_batch_norm: bool = False
    # MobileNetV2 U-Net: "transpose" (3x3 transposed convs, full-resolution logits) or
    # "bilinear" (bilinear x2 + 1x1 conv per level; 1x1 logits resized to output_stride).
    upsampling: Literal["transpose", "bilinear"] = "transpose"
    output_stride: Literal[1, 2, 4] = 1

    @model_validator(mode="after")
    def _pretrained_needs_backbone(self) -> ModelConfig:
        if self.pretrained is not None and self.backbone == "seed":
            raise ValueError("model.pretrained needs backbone: mobilenet_v2")
        return self

    @model_validator(mode="after")
    def _decoder_fits(self) -> ModelConfig:
        problem = decoder_problem(len(self.decoder_filters), self.upsampling, self.output_stride)
        if problem:
            raise ValueError(f"model: {problem}")
        return self

    def pretrained_path(self) -> Path | None:
        if self.pretrained is None:
            return None
        return (
            self.pretrained if self.pretrained.is_absolute() else weights_root() / self.pretrained
        )


class DataConfig(_Strict):
    """``folder``: image and mask folders. ``coco``: image folders and ``instances_*.json``;
    the masks are encoded into ``cache_dir/{train,val}`` (relative to the working directory)
    by the COCO job on first use, then reused."""

    name: str
    kind: Literal["folder", "coco"] = "folder"
    train_images: Path
    val_images: Path
    train_masks: Path | None = None
    val_masks: Path | None = None
    train_annotations: Path | None = None
    val_annotations: Path | None = None
    cache_dir: Path = Path("data/coco_masks")
    labels: list[str]
    palette: list[tuple[int, int, int]]
    ignore_index: int | None = None
    license: str = "unknown"

    @model_validator(mode="after")
    def _palette_matches(self) -> DataConfig:
        need = (
            ("train_masks", "val_masks")
            if self.kind == "folder"
            else ("train_annotations", "val_annotations")
        )
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise ValueError(f"a {self.kind} dataset needs {', '.join(missing)}")
        if len(self.palette) != len(self.labels):
            raise ValueError(
                f"palette has {len(self.palette)} colours for {len(self.labels)} labels"
            )
        return self

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else data_root() / path


class InputConfig(_Strict):
    width: int = Field(256, ge=8)
    height: int = Field(192, ge=8)
    mean: tuple[float, float, float] = (127.5, 127.5, 127.5)
    std: tuple[float, float, float] = (127.5, 127.5, 127.5)

    def spec(self) -> InputSpec:
        """The manifest's ``input`` section for models trained with this config."""
        return InputSpec(width=self.width, height=self.height, mean=self.mean, std=self.std)


class AugmentConfig(_Strict):
    scale_min: float = Field(0.75, gt=0)
    scale_max: float = Field(1.5, gt=0)
    flip: bool = True
    photometric: bool = True


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from exc
    return value


# A regular expression searched in layer names.
LayerPattern = Annotated[str, Field(min_length=1), AfterValidator(_regex)]


class LayerSparsity(_Strict):
    """A different final sparsity for the conv layers whose name matches ``match``."""

    match: LayerPattern
    final_sparsity: float = Field(ge=0.0, lt=1.0)


class PruningConfig(_Strict):
    """``tfmot`` PolynomialDecay; steps may be given as fractions of all training steps."""

    enabled: bool = True
    initial_sparsity: float = Field(0.0, ge=0.0, lt=1.0)
    final_sparsity: float = Field(0.60, ge=0.0, lt=1.0)
    begin_step: int | None = None
    end_step: int | None = None
    begin_fraction: float = Field(0.3, ge=0.0, le=1.0)
    end_fraction: float = Field(0.7, ge=0.0, le=1.0)
    frequency: int = Field(100, ge=1)
    # PolynomialDecay's exponent: 3 (TFMOT's default) prunes most in the first steps of the
    # window; 1 spreads it evenly, gentler when pruning a trained model further.
    power: float = Field(3.0, gt=0)
    # Per-layer final sparsities, first match wins; other conv layers take final_sparsity.
    # A matched layer's whole schedule is scaled (its initial sparsity too), so a run that
    # holds the sparsity (initial = final) holds every layer's.
    layers: tuple[LayerSparsity, ...] = ()

    def layer_sparsity(self, layer_name: str) -> tuple[float, float]:
        """(initial, final) sparsity of the conv layer named ``layer_name``."""
        for rule in self.layers:
            if re.search(rule.match, layer_name):
                scale = rule.final_sparsity / self.final_sparsity if self.final_sparsity else 0.0
                return min(self.initial_sparsity * scale, rule.final_sparsity), rule.final_sparsity
        return self.initial_sparsity, self.final_sparsity

    def steps(self, total_steps: int) -> tuple[int, int]:
        begin = (
            self.begin_step
            if self.begin_step is not None
            else int(total_steps * self.begin_fraction)
        )
        end = self.end_step if self.end_step is not None else int(total_steps * self.end_fraction)
        if end <= begin and self.begin_step is None and self.end_step is None:
            end = begin + 1  # a run too short for the window (a trial): prune at once
        if end <= begin:
            raise ValueError(f"pruning end_step {end} must be after begin_step {begin}")
        if self.end_step is None:
            # TFMOT prunes only at begin + k * frequency <= end: a fractional end that is not
            # on that grid stops short of final_sparsity (8 epochs of FCN-32s reached 58.2 %
            # of 60 %), so pull it back onto the grid.
            end = begin + max(1, (end - begin) // self.frequency) * self.frequency
        return begin, end


class ClusteringConfig(_Strict):
    """Sparsity-preserving weight clustering (``tfmot.clustering``), the stage after pruning
    in TFMOT's collaborative optimisation: every conv kernel keeps its zeros and shares
    ``clusters`` values, so the INT8 file's weights have far fewer distinct values and gzip
    shrinks it further. Fine-tunes a trained, pruned model (``train.init_from``)."""

    enabled: bool = False
    clusters: int = Field(16, ge=2, le=256)
    init: Literal["kmeans_plus_plus", "linear", "density_based", "random"] = "kmeans_plus_plus"


class GroupKeep(_Strict):
    """A different keep ratio for the channel groups whose producer conv's name matches
    ``match`` (a regular expression, searched in the layer name)."""

    match: LayerPattern
    keep: float = Field(gt=0.0, le=1.0)


class ChannelPruningConfig(_Strict):
    """Structured pruning at the start of a stage (``host.channel_pruning``): whole
    channels of the ``train.init_from`` model are removed, the smaller model is rebuilt
    with the surviving weights and the stage fine-tunes it."""

    enabled: bool = False
    # Share of each group's channels kept; ``layers`` sets others by producer-conv name.
    keep: float = Field(1.0, gt=0.0, le=1.0)
    layers: tuple[GroupKeep, ...] = ()
    # Scale every ratio below 1 by one factor, the largest that reaches this many GMACs.
    target_gmacs: float | None = Field(None, gt=0)
    importance: Literal["l2", "contribution"] = "contribution"
    # Kept channels come in multiples of this (SIMD-friendly widths for XNNPACK's kernels).
    round_to: int = Field(8, ge=1)
    calibration_images: int = Field(32, ge=1)


class DistillationConfig(_Strict):
    """Knowledge distillation from a trained teacher (``host.distill``): its logits on the
    training images are computed once and cached; the loss becomes
    ``(1 - weight) * CE + weight * T^2 * KL(teacher_T || student_T)`` per pixel."""

    teacher: Path | None = None
    temperature: float = Field(2.0, gt=0)
    weight: float = Field(0.5, ge=0.0, le=1.0)
    cache_dir: Path = Path("data/teacher_logits")

    @property
    def enabled(self) -> bool:
        return self.teacher is not None


class TrainConfig(_Strict):
    epochs: int = Field(40, ge=1)
    batch_size: int = Field(8, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    min_learning_rate: float = Field(1e-5, ge=0)
    class_weighting: Literal["none", "median_frequency"] = "median_frequency"
    max_class_weight: float = Field(10.0, gt=0)
    # Median-frequency weights raised to this power (0.5: their square root). Full weights
    # trade the rare classes' precision for recall (v0.3 default on val: Pedestrian 0.33 /
    # 0.79, Building 0.99 / 0.73), which costs IoU.
    class_weight_power: float = Field(1.0, gt=0, le=1)
    seed: int = 0
    # TensorFlow's deterministic ops: the same seed gives the same model (CPU threads otherwise
    # reorder float sums; a 24-step test model's INT8 agreement varied 0.93-1.0 between runs).
    deterministic: bool = True
    augment: AugmentConfig = AugmentConfig()
    steps_per_epoch: int | None = Field(None, ge=1)
    val_limit: int | None = Field(None, ge=1)
    # Pretrained encoder: train only the rest for this many epochs first (a separate stage in
    # RUN/frozen_encoder/), so the random decoder's first gradients do not wreck it.
    freeze_encoder_epochs: int = Field(0, ge=0)
    # The pretrained encoder's Adam steps are this fraction of the decoder's (discriminative
    # learning rates). Under encoder pruning it hurts: at 0.1 the default's run collapsed
    # when pruning began and recovered to 56 % val mIoU (README, training section).
    encoder_lr_factor: float = Field(1.0, gt=0, le=1)
    # Start from a trained model of the same architecture (e.g. prune a 60 % model on to 80 %,
    # as TFMOT recommends, rather than training from scratch); relative to the working dir.
    init_from: Path | None = None
    # The final fit: train on train + val for the epochs a train-only run chose, and keep
    # the last epoch (val is no longer held out, so nothing is selected on it).
    include_val: bool = False
    # With include_val: the train-only run (a config name) that chose the recipe. Its
    # exported val figures (NAME_VARIANT.json beside the bundles) are this model's honest
    # ones and go into its manifest as ``metrics.train_only``.
    selected_by: str | None = None
    # Stop after this epoch (frozen-encoder ones counted) while the learning-rate and
    # pruning schedules still span ``epochs``: how a run stopped early is recorded as what
    # it ran, so a rebuild stops at the same point.
    stop_after: int | None = Field(None, ge=1)


class ExperimentConfig(_Strict):
    name: str
    version: str = "1.0.0"
    description: str = ""
    model: ModelConfig = ModelConfig()
    data: DataConfig
    input: InputConfig = InputConfig()
    train: TrainConfig = TrainConfig()
    pruning: PruningConfig = PruningConfig()
    clustering: ClusteringConfig = ClusteringConfig()
    channel_pruning: ChannelPruningConfig = ChannelPruningConfig()
    distillation: DistillationConfig = DistillationConfig()

    @model_validator(mode="after")
    def _one_weight_stage(self) -> ExperimentConfig:
        if self.clustering.enabled and self.pruning.enabled:
            raise ValueError(
                "clustering fine-tunes an already pruned model: set pruning.enabled: false "
                "and train.init_from to the pruned run's best.keras"
            )
        if self.train.freeze_encoder_epochs:
            if self.model.backbone == "seed":
                raise ValueError("train.freeze_encoder_epochs needs a pretrained backbone")
            if self.train.freeze_encoder_epochs >= self.train.epochs:
                raise ValueError("train.freeze_encoder_epochs must be fewer than train.epochs")
        stop = self.train.stop_after
        if stop is not None and not self.train.freeze_encoder_epochs < stop <= self.train.epochs:
            raise ValueError(
                "train.stop_after must be after the frozen-encoder epochs and at most "
                f"train.epochs ({self.train.freeze_encoder_epochs} < stop_after <= "
                f"{self.train.epochs})"
            )
        if self.train.selected_by is not None and not self.train.include_val:
            raise ValueError(
                "train.selected_by names the train-only run a train + val refit comes from: "
                "set train.include_val: true, or drop it"
            )
        if self.channel_pruning.enabled and self.train.init_from is None:
            raise ValueError(
                "channel_pruning removes channels of a trained model: set train.init_from"
            )
        if self.clustering.enabled and self.train.init_from is None:
            raise ValueError(
                "clustering needs train.init_from (the trained, pruned model to cluster)"
            )
        return self

    @classmethod
    def load(cls, path: Path) -> ExperimentConfig:
        """Read a YAML config; raises ``ValueError`` with every problem found.

        ``extends: OTHER.yaml`` (relative to this file) starts from another config: this
        file's mappings are merged into it key by key, anything else replaces."""
        raw = _read_extended(path, ())
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                msg = str(err["msg"]).removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown key" + did_you_mean(cls, err["loc"])
                problems.append(f"{where}: {msg}" if where else msg)
            raise ValueError(f"config {path}: " + "; ".join(problems)) from exc


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _read_extended(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    raw = read_yaml_mapping(path)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ValueError(f"config {path}: extends must be a file name, got {parent!r}")
    base_path = (path.parent / parent).resolve()
    if base_path in seen or base_path == path.resolve():
        raise ValueError(f"config {path}: extends {parent} makes a cycle")
    if not base_path.is_file():
        raise ValueError(f"config {path}: extends {parent}, which does not exist")
    return _merged(_read_extended(base_path, (*seen, path.resolve())), raw)
