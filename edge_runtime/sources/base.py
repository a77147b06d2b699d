"""What every frame source is: open → read → close, RGB uint8 frames, errors as SourceError."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from edge_runtime.errors import SourceError

__all__ = ["Frame", "FrameSource", "SourceError"]


# One HxWx3 RGB uint8 frame, or a (to segment, to display) pair from cameras that give a
# small stream sized to the model and a large one for the overlay (picamera2).
Frame = np.ndarray | tuple[np.ndarray, np.ndarray]


class FrameSource(Protocol):
    """A camera or a replayed file. ``read`` returns a ``Frame``, or raises
    ``SourceError``. ``fps`` paces replayed sources (None: as fast as the device gives)."""

    name: str
    fps: float | None

    def open(self) -> None: ...

    def read(self) -> Frame: ...

    def close(self) -> None: ...
