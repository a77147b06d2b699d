"""The Raspberry Pi camera through picamera2 (from apt; imported only here).

Two streams, as picamera2 recommends for vision: ``lores`` sized to the model input (what
is segmented) and ``main`` for the overlay the stream shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_runtime.sources.base import SourceError

HINT = (
    "picamera2 is not importable: on Raspberry Pi OS `sudo apt install python3-picamera2` "
    "and create the venv with --system-site-packages"
)


class Picamera2Source:
    def __init__(
        self,
        index: int = 0,
        *,
        main_size: tuple[int, int] = (1280, 960),
        lores_size: tuple[int, int] = (320, 240),
    ):
        self.name = f"picamera2:{index}"
        self.fps: float | None = None
        self._index = index
        self._main, self._lores = main_size, lores_size
        self._cam: Any = None

    def open(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise SourceError(HINT) from exc
        try:
            cam = Picamera2(self._index)
            config = cam.create_video_configuration(
                main={"size": self._main, "format": "RGB888"},
                lores={"size": self._lores, "format": "YUV420"},
            )
            cam.configure(config)
            cam.start()
        except Exception as exc:  # libcamera raises many types; all mean "no camera"
            raise SourceError(f"{self.name}: {exc}") from exc
        self._cam = cam

    def read(self) -> np.ndarray:
        if self._cam is None:
            raise SourceError("source is not open")
        try:
            frame = self._cam.capture_array("main")
        except Exception as exc:
            raise SourceError(f"{self.name}: {exc}") from exc
        # picamera2's RGB888 is BGR in memory order.
        return np.ascontiguousarray(frame[..., 2::-1])

    def close(self) -> None:
        if self._cam is not None:
            try:
                self._cam.stop()
                self._cam.close()
            finally:
                self._cam = None
