"""Image folders and globs, replayed in a loop (what tests and demos use)."""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np

from edge_runtime.errors import ImageError
from edge_runtime.folders import list_images
from edge_runtime.imaging import decode_image
from edge_runtime.sources.base import SourceError


class ImageFolderSource:
    """Every image of a folder (or matching a glob), in name order, forever. The folder is
    listed again at each pass, so files added while it runs are picked up; a file that
    cannot be decoded is skipped (and counted in ``bad_files``), not a reason to start over.
    """

    def __init__(self, spec: str, fps: float = 10.0):
        self.name = spec
        self.fps: float | None = fps
        self._spec = spec
        self._paths: list[Path] = []
        self._next = 0
        self.bad_files = 0
        self.last_bad: str | None = None

    def _list(self) -> list[Path]:
        path = Path(self._spec)
        if path.is_dir():
            return list_images(path)
        # glob.glob: a user pattern may be absolute (Path.glob takes relative ones only)
        return sorted(Path(p) for p in glob.glob(self._spec))  # noqa: PTH207

    def open(self) -> None:
        try:
            paths = self._list()
        except OSError as exc:
            raise SourceError(f"cannot list {self._spec}: {exc.strerror}") from exc
        if not paths:
            raise SourceError(f"no images in {self._spec}")
        self._paths, self._next = paths, 0

    def read(self) -> np.ndarray:
        if not self._paths:
            raise SourceError("source is not open")
        for _ in range(len(self._paths)):  # at most one pass over bad files
            if self._next >= len(self._paths):  # a new pass: see what the folder holds now
                self.open()
            path = self._paths[self._next]
            self._next += 1
            try:
                return np.asarray(decode_image(path.read_bytes()).image)
            except FileNotFoundError as exc:  # the folder went away: the source is down
                raise SourceError(f"{path.name}: {exc.strerror}") from exc
            except (OSError, ImageError) as exc:
                self.bad_files += 1
                self.last_bad = f"{path.name}: {exc}"
        raise SourceError(f"no readable image in {self._spec} (last: {self.last_bad})")

    def close(self) -> None:
        self._paths = []
