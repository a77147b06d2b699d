"""Generated frames: colour bars sliding sideways, so a demo runs with no camera at all."""

from __future__ import annotations

import numpy as np

COLOURS = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255],
                    [128, 128, 128]], np.uint8)  # fmt: skip


class SyntheticSource:
    def __init__(self, width: int = 640, height: int = 480, fps: float = 15.0):
        self.name = "synthetic"
        self.fps: float | None = fps
        self.width, self.height = width, height
        self._t = 0

    def open(self) -> None:
        self._t = 0

    def read(self) -> np.ndarray:
        x = (np.arange(self.width) + 8 * self._t) // max(1, self.width // len(COLOURS))
        self._t += 1
        row = COLOURS[x % len(COLOURS)]
        return np.ascontiguousarray(np.broadcast_to(row, (self.height, self.width, 3)))

    def close(self) -> None:
        pass
