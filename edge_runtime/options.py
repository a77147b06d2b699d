"""How a model is loaded and fed: one frozen object that the CLI flags, the daemon's
settings and the Python API share, declared once here.

Every option left unset (None) falls through to the model's manifest, then to the
default. Where a value comes from when several sources give one (flags > ``EDGE_RUNTIME_*``
environment > YAML) is decided in one place, ``edge_runtime.settings``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from edge_runtime.bundle import parse_channels

DelegateChoice = Literal["auto", "cpu", "edgetpu"]
ResizeChoice = Literal["stretch", "letterbox"]
Channels = tuple[float, float, float]


class ModelOptions(BaseModel):
    """``Pipeline.open(path, options)``; each field is also a flag (``--edgetpu-device``),
    an environment variable (``EDGE_RUNTIME_EDGETPU_DEVICE``) and a YAML key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: Path | None = Field(
        None,
        description="a .tflite (with or without its .json manifest); default: the shipped model",
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads for the interpreter; default: the cores this process may use",
    )
    delegate: DelegateChoice = Field(
        "auto", description="auto: the Edge TPU when the model is compiled for it"
    )
    edgetpu_device: str | None = Field(
        None, description="usb, pci, usb:0, pci:1 ...; default: the first found"
    )
    cpu_fallback: Path | None = Field(
        None, description="CPU .tflite to run when the Edge TPU cannot be used"
    )
    labels: Path | None = Field(None, description="labels file, one per line (bare .tflite only)")
    mean: Channels | None = Field(
        None, description="input mean on 0..255, one value or R,G,B (overrides the manifest)"
    )
    std: Channels | None = Field(
        None, description="input std on 0..255, one value or R,G,B (overrides the manifest)"
    )
    resize: ResizeChoice | None = Field(
        None, description="how images are fitted to the input (overrides the manifest)"
    )

    @field_validator("mean", "std", mode="before")
    @classmethod
    def _channels(cls, v: object) -> object:
        if isinstance(v, str):
            return parse_channels(v, "mean/std")
        if isinstance(v, int | float):
            return (float(v),) * 3
        return v

    def only_model_options(self) -> ModelOptions:
        """These options alone (from a ``Settings``, which has more fields)."""
        return ModelOptions(**{name: getattr(self, name) for name in ModelOptions.model_fields})
