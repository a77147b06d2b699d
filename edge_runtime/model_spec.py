"""What the pipeline needs to know about a model: its labels, palette, input and output,
from its manifest or, for a bare .tflite, from its tensors and the caller's options."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from edge_runtime.bundle import (
    RGB,
    InputSpec,
    Manifest,
    default_palette,
    read_labels,
)
from edge_runtime.encode import (
    palette_bytes,
)
from edge_runtime.engine import Engine, TensorInfo
from edge_runtime.errors import ManifestError, ModelError
from edge_runtime.postprocess import (
    OutputKind,
    check_kind,
    infer_kind,
    spatial_shape,
)

log = logging.getLogger("edge_runtime")


@dataclass(frozen=True)
class ModelSpec:
    """Everything the pipeline needs to know about a model, from its manifest or, for a
    bare .tflite, from its tensors and the caller's options."""

    name: str
    labels: tuple[str, ...]
    palette: tuple[RGB, ...]
    input: InputSpec
    output_kind: OutputKind
    ignore_index: int | None
    manifest: Manifest | None

    @cached_property
    def palette_bytes(self) -> bytes:
        return palette_bytes(self.palette)


def default_normalization(tensor: TensorInfo) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """mean/std that reproduce each input type's convention for bare models:
    uint8 → the raw pixel bytes (as pycoral does), int8 → pixel − 128, float → pixel / 255.
    For quantized tensors the mean/std undo the tensor's own quantization."""
    if np.issubdtype(tensor.dtype, np.floating):
        return (0.0,) * 3, (255.0,) * 3
    offset = 128.0 if tensor.dtype == np.int8 else 0.0
    if tensor.quantized:
        # q = (p - mean) / std / scale + zp  ==  p - offset  when std = 1/scale, mean = offset + zp
        return (offset + tensor.zero_point,) * 3, (1.0 / tensor.scale,) * 3
    return (offset,) * 3, (1.0,) * 3


def resolve_spec(
    engine: Engine,
    manifest: Manifest | None,
    *,
    name: str,
    labels_file: Path | None = None,
    mean: tuple[float, float, float] | None = None,
    std: tuple[float, float, float] | None = None,
    resize: Literal["stretch", "letterbox"] | None = None,
) -> ModelSpec:
    """Check the model's tensors against its manifest (or derive one). ``ModelError``s
    name the tensor and what was expected."""
    tin = engine.input
    if len(tin.shape) != 4 or tin.shape[0] != 1 or tin.shape[3] != 3:
        raise ModelError(
            f"not an image model: input {tin.name!r} is {tin.describe()}, expected [1,H,W,3]"
        )
    height, width = tin.shape[1], tin.shape[2]
    _, _, channels = spatial_shape(engine.output)
    if manifest is not None:
        if (manifest.input.width, manifest.input.height) != (width, height):
            raise ManifestError(
                f"manifest input is {manifest.input.width}x{manifest.input.height} but the "
                f"model's input tensor is {width}x{height}"
            )
        spec_in = manifest.input
        labels, palette = list(manifest.labels), list(manifest.palette)
        if labels_file is not None:
            log.warning(
                "--labels %s ignored: the manifest of %s names its %d classes "
                "(labels apply to bare .tflite files only)",
                labels_file,
                manifest.name,
                len(labels),
            )
        for what, value, recorded in (("mean", mean, spec_in.mean), ("std", std, spec_in.std)):
            if value is not None and tuple(value) != tuple(recorded):
                log.warning(
                    "--%s %s overrides the manifest's %s (the model was trained with it)",
                    what,
                    ",".join(f"{v:g}" for v in value),
                    ",".join(f"{v:g}" for v in recorded),
                )
        kind: OutputKind = manifest.output.kind
        ignore, name = manifest.ignore_index, manifest.name
    else:
        kind = infer_kind(engine.output)
        if labels_file is not None:
            labels = read_labels(labels_file)
        elif kind == "probability":
            labels = ["background", "foreground"]
        elif kind == "logits":
            labels = [f"class_{i}" for i in range(channels)]
        else:
            labels = [f"class_{i}" for i in range(256)]  # ids come from the graph
        palette = default_palette(len(labels))
        d_mean, d_std = default_normalization(tin)
        spec_in = InputSpec(width=width, height=height, mean=d_mean, std=d_std)
        ignore = None
    check_kind(engine.output, kind, len(labels))
    updates: dict[str, object] = {}
    if mean is not None:
        updates["mean"] = mean
    if std is not None:
        updates["std"] = std
    if resize is not None:
        updates["resize"] = resize
    if updates:
        spec_in = InputSpec.model_validate({**spec_in.model_dump(), **updates})
    return ModelSpec(name, tuple(labels), tuple(palette), spec_in, kind, ignore, manifest)
