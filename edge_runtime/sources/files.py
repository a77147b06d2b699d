"""Image folders and globs, replayed in a loop (what tests and demos use)."""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np

from edge_runtime.errors import ImageError
from edge_runtime.folders import IMAGE_SUFFIXES
from edge_runtime.imaging import decode_image
from edge_runtime.sources.base import SourceError


class ImageFolderSource:
    """Every image of a folder (or matching a glob), in name order, forever."""

    def __init__(self, spec: str, fps: float = 10.0):
        self.name = spec
        self.fps: float | None = fps
        self._spec = spec
        self._paths: list[Path] = []
        self._next = 0

    def open(self) -> None:
        path = Path(self._spec)
        if path.is_dir():
            paths = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            # glob.glob: a user pattern may be absolute (Path.glob takes relative ones only)
            paths = sorted(Path(p) for p in glob.glob(self._spec))  # noqa: PTH207
        if not paths:
            raise SourceError(f"no images in {self._spec}")
        self._paths, self._next = paths, 0

    def read(self) -> np.ndarray:
        if not self._paths:
            raise SourceError("source is not open")
        path = self._paths[self._next % len(self._paths)]
        self._next += 1
        try:
            return np.asarray(decode_image(path.read_bytes()).image)
        except (OSError, ImageError) as exc:
            raise SourceError(f"{path.name}: {exc}") from exc

    def close(self) -> None:
        self._paths = []
