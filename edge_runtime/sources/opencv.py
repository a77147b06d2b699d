"""USB webcams (V4L2), network cameras (RTSP/HTTP) and video files, through OpenCV.

OpenCV is optional (``pip install -e '.[camera]'`` in a clone) and imported only here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_runtime.sources.base import SourceError

HINT = (
    "OpenCV is not installed: in the repository, pip install -e '.[camera]' "
    "(or pip install opencv-python-headless)"
)


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise SourceError(HINT) from exc
    return cv2


class OpenCVSource:
    """``target``: a device index (int), ``/dev/videoN``, a URL or a video file path.
    Video files are replayed in a loop, at their own frame rate."""

    def __init__(self, target: int | str, *, loop: bool = False):
        self.name = str(target)
        self.fps: float | None = None
        self._target = target
        self._loop = loop
        self._cap: Any = None

    def open(self) -> None:
        cv2 = _cv2()
        cap = cv2.VideoCapture(self._target)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open {self.name} with OpenCV")
        if self._loop:
            fps = cap.get(cv2.CAP_PROP_FPS)
            self.fps = float(fps) if fps and fps > 0 else 25.0
        self._cap = cap

    def read(self) -> np.ndarray:
        if self._cap is None:
            raise SourceError("source is not open")
        cv2 = _cv2()
        ok, frame = self._cap.read()
        if not ok and self._loop:  # end of a video file: start again
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        if not ok or frame is None:
            raise SourceError(f"{self.name}: no frame (unplugged, stream dropped or end of file)")
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
