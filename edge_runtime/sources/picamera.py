"""The Raspberry Pi camera through picamera2 (from apt; imported only here).

Two streams, as picamera2 recommends for vision: ``lores`` sized to the model input (what
is segmented, so the pipeline does no resizing) and ``main`` for the overlay the stream
shows. ``read`` returns both as a ``(lores, main)`` pair.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_runtime.sources.base import SourceError

HINT = (
    "picamera2 is not importable: on Raspberry Pi OS `sudo apt install python3-picamera2` "
    "and create the venv with --system-site-packages"
)


def i420_to_rgb(yuv: np.ndarray, width: int, height: int) -> np.ndarray:
    """picamera2's YUV420 (I420, BT.601 full range) lores buffer → HxWx3 RGB uint8.
    The Pi 4's ISP only gives YUV on the lores stream.

    picamera2's array is ``(height * 3 // 2, stride)``: rows padded to the ISP's stride
    (often wider than the image). Y is ``height`` rows of ``stride`` bytes; U and V
    follow, each ``height // 2`` rows of ``stride // 2`` bytes. A flat buffer means no
    padding (stride = width)."""
    stride = yuv.shape[1] if yuv.ndim == 2 else width
    flat = yuv.reshape(-1)
    plane = stride * height
    y = flat[:plane].reshape(height, stride)[:, :width].astype(np.float32)
    chroma = (height // 2, stride // 2)
    u = flat[plane : plane * 5 // 4].reshape(chroma)[:, : width // 2]
    v = flat[plane * 5 // 4 : plane * 3 // 2].reshape(chroma)[:, : width // 2]
    u = u.repeat(2, 0).repeat(2, 1).astype(np.float32) - 128.0
    v = v.repeat(2, 0).repeat(2, 1).astype(np.float32) - 128.0
    rgb = np.empty((height, width, 3), np.float32)
    rgb[..., 0] = y + 1.402 * v
    rgb[..., 1] = y - 0.344136 * u - 0.714136 * v
    rgb[..., 2] = y + 1.772 * u
    return np.clip(rgb, 0, 255).astype(np.uint8)


class Picamera2Source:
    def __init__(
        self,
        index: int = 0,
        *,
        lores_size: tuple[int, int] = (320, 240),
        main_size: tuple[int, int] = (1280, 960),
    ):
        self.name = f"picamera2:{index}"
        self.fps: float | None = None
        self._index = index
        # The ISP wants even sizes for YUV420.
        self._lores = (lores_size[0] + lores_size[0] % 2, lores_size[1] + lores_size[1] % 2)
        self._main = main_size
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

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        if self._cam is None:
            raise SourceError("source is not open")
        try:
            request = self._cam.capture_request()
            try:
                lores = request.make_array("lores")
                main = request.make_array("main")
            finally:
                request.release()
        except Exception as exc:
            raise SourceError(f"{self.name}: {exc}") from exc
        # picamera2's RGB888 is BGR in memory order.
        return i420_to_rgb(lores, *self._lores), np.ascontiguousarray(main[..., 2::-1])

    def close(self) -> None:
        if self._cam is not None:
            try:
                self._cam.stop()
                self._cam.close()
            finally:
                self._cam = None
