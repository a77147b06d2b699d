"""Frame sources, chosen by a ``--source`` spec string (see ``open_source``)."""

from __future__ import annotations

import re
from pathlib import Path

from edge_runtime.sources.base import Frame, FrameSource, SourceError

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".h264", ".m4v"}


def make_source(
    spec: str, *, fps: float | None = None, model_size: tuple[int, int] = (320, 240)
) -> FrameSource:
    """``picamera2[:N]`` · ``opencv:N`` · ``/dev/videoN`` · ``rtsp://…`` / ``http(s)://…`` ·
    a video file · an image folder or glob · ``synthetic``. ``model_size`` (width, height)
    sizes picamera2's lores stream. Raises ``SourceError`` for a spec that names nothing."""
    from edge_runtime.sources.files import ImageFolderSource
    from edge_runtime.sources.opencv import OpenCVSource
    from edge_runtime.sources.picamera import Picamera2Source
    from edge_runtime.sources.synthetic import SyntheticSource

    if spec == "synthetic":
        return SyntheticSource(fps=fps or 15.0)
    if m := re.fullmatch(r"picamera2(?::(\d+))?", spec):
        return Picamera2Source(int(m.group(1) or 0), lores_size=model_size)
    if m := re.fullmatch(r"opencv:(\d+)", spec):
        return OpenCVSource(int(m.group(1)))
    if re.fullmatch(r"/dev/video\d+", spec):
        return OpenCVSource(spec)
    if re.match(r"(rtsp|rtsps|http|https)://", spec):
        return OpenCVSource(spec)
    from edge_runtime.folders import IMAGE_SUFFIXES

    path = Path(spec)
    suffix = path.suffix.lower()
    if path.is_file() and suffix in VIDEO_SUFFIXES:
        return OpenCVSource(spec, loop=True)
    if (
        path.is_dir()
        or any(c in spec for c in "*?[")
        or (path.is_file() and suffix in IMAGE_SUFFIXES)
    ):
        return ImageFolderSource(spec, fps=fps or 10.0)
    if suffix in VIDEO_SUFFIXES or suffix in IMAGE_SUFFIXES:
        raise SourceError(f"no such file: {spec}")
    if "/" in spec or spec.startswith("."):
        raise SourceError(f"no such folder: {spec}")
    raise SourceError(
        f"unknown source {spec!r}: expected picamera2[:N], opencv:N, /dev/videoN, rtsp://…, "
        "http://…, a video file, an image folder or glob, or synthetic"
    )


__all__ = ["Frame", "FrameSource", "SourceError", "make_source"]
