"""Model bundles: ``NAME.tflite`` plus the sidecar manifest ``NAME.json``.

The manifest is a versioned pydantic schema (``Manifest``); see the README's
"Model bundles" section for every field. A bare ``.tflite`` loads too: what the
manifest would say is then read from the tensors (see ``pipeline.resolve_spec``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge_runtime.errors import ManifestError, ModelError
from edge_runtime.tflite_graph import check_identifier

SCHEMA_VERSION = 1

RGB = tuple[int, int, int]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Frozen):
    """How pixels become the input tensor: ``x = (pixel - mean) / std`` per RGB channel
    (0..255), then quantized with the input tensor's own scale and zero point."""

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    resize: Literal["stretch", "letterbox"] = "stretch"

    @field_validator("std")
    @classmethod
    def _nonzero_std(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(s == 0 for s in v):
            raise ValueError("std must not be 0")
        return v


class OutputSpec(_Frozen):
    """``logits`` [1,H,W,C]; ``class_index`` [1,H,W] or [1,H,W,1] ids (an in-graph
    ArgMax); ``probability`` [1,H,W,1] foreground probability, threshold 0.5."""

    kind: Literal["logits", "class_index", "probability"]


class Manifest(_Frozen):
    """Schema version 1 of the sidecar manifest."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    schema_version: Literal[1] = 1
    name: str = Field(min_length=1)
    version: str = "0.0.0"
    task: Literal["semantic_segmentation"] = "semantic_segmentation"
    labels: list[str] = Field(min_length=1, max_length=256)
    palette: list[RGB]
    ignore_index: int | None = None
    input: InputSpec
    output: OutputSpec
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    edgetpu: bool = False
    cpu_model: str | None = Field(
        None, description="for Edge TPU bundles: the CPU .tflite to fall back to (relative path)"
    )
    metrics: dict[str, Any] | None = None
    training: dict[str, Any] | None = None
    sparsity: float | None = Field(None, ge=0.0, le=1.0)
    params: int | None = Field(None, ge=0)
    macs: int | None = Field(None, ge=0)
    license: str | None = None

    @field_validator("palette")
    @classmethod
    def _palette_range(cls, v: list[RGB]) -> list[RGB]:
        for rgb in v:
            if any(not 0 <= c <= 255 for c in rgb):
                raise ValueError(f"palette colour {rgb} is outside 0..255")
        return v

    def honest_val(self) -> tuple[dict[str, Any], bool]:
        """The val scores to report and whether they are a train-only run's: a train + val
        refit's own val score is a training score, so its ``metrics.train_only`` stands in.
        Empty when the manifest has no val scores."""
        m = self.metrics or {}
        if m.get("val", {}).get("seen_in_training") and "train_only" in m:
            return m["train_only"], True
        return m.get("val", {}), False

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if len(self.palette) != len(self.labels):
            raise ValueError(f"{len(self.palette)} palette colours for {len(self.labels)} labels")
        if self.output.kind == "probability" and len(self.labels) != 2:
            raise ValueError(
                "a probability output has 2 labels (background, foreground), "
                f"not {len(self.labels)}"
            )
        return self


@dataclass(frozen=True)
class ModelFile:
    """A .tflite on disk with its manifest, if it has one."""

    path: Path
    manifest: Manifest | None


def write_manifest(fields: dict[str, Any], tflite: Path) -> Manifest:
    """Validate ``fields`` as a ``Manifest`` and write it beside ``tflite`` (NAME.json):
    every manifest on disk went through the same schema."""
    doc = Manifest.model_validate(fields)
    tflite.with_suffix(".json").write_text(
        json.dumps(doc.model_dump(mode="json", exclude_none=True), indent=2) + "\n"
    )
    return doc


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(path: Path) -> Manifest:
    try:
        raw = json.loads(path.read_text())
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"manifest {path} is not valid JSON: {exc}") from exc
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'manifest'}: {e['msg']}" for e in exc.errors()
        )
        raise ManifestError(f"manifest {path} is invalid: {problems}") from exc


def locate_model(path: Path | str, *, verify_sha256: bool = True) -> ModelFile:
    """Find the .tflite and its manifest from either file's path.

    Raises ``ModelError`` for a missing or non-TFLite file, ``ManifestError`` for an
    invalid manifest or one whose sha256 does not match the .tflite.
    """
    p = Path(path)
    tflite = p.with_suffix(".tflite") if p.suffix == ".json" else p
    if not tflite.is_file():
        raise ModelError(f"model not found: {tflite}")
    with tflite.open("rb") as f:
        check_identifier(f.read(8), tflite)
    manifest_path = tflite.with_suffix(".json")
    manifest = read_manifest(manifest_path) if manifest_path.is_file() else None
    if manifest is not None and verify_sha256:
        actual = sha256_file(tflite)
        if actual != manifest.sha256:
            raise ManifestError(
                f"{tflite.name} does not match its manifest: sha256 is {actual[:12]}…, "
                f"the manifest expects {manifest.sha256[:12]}… (wrong or corrupted file)"
            )
    return ModelFile(tflite, manifest)


def default_palette(n: int) -> list[RGB]:
    """The PASCAL VOC colour map (what DeepLab uses), so class colours look familiar."""
    palette = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette.append((r, g, b))
    return palette


def read_labels(path: Path) -> list[str]:
    """One label per line; blank lines are skipped. A leading ``ID `` or ``ID: `` is dropped
    (pycoral's label-file style)."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ModelError(f"cannot read labels file {path}: {exc.strerror}") from exc
    labels = []
    for line in lines:
        text = line.strip()
        if not text:
            continue
        head, _, rest = text.partition(" ")
        if head.rstrip(":").isdigit() and rest:
            text = rest.strip()
        labels.append(text)
    if not labels:
        raise ModelError(f"labels file {path} is empty")
    return labels


def parse_channels(text: str, what: str) -> tuple[float, float, float]:
    """``"127.5"`` or ``"123.7,116.3,103.5"`` → three floats."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise ValueError(f"{what} must be one number or three comma-separated: {text!r}") from exc
    if len(values) == 1:
        values *= 3
    if len(values) != 3:
        raise ValueError(f"{what} must be one number or three comma-separated: {text!r}")
    return values[0], values[1], values[2]
