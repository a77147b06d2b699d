"""Resident memory: now, and the peak while something runs (sampled on a thread)."""

from __future__ import annotations

import threading
import time
from types import TracebackType

from edge_runtime.system_info import rss_bytes


class PeakRss:
    """``with PeakRss() as peak: ...`` then ``peak.bytes``; samples every ``interval_s``."""

    def __init__(self, interval_s: float = 0.005):
        self.interval_s = interval_s
        self.bytes = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.bytes = max(self.bytes, rss_bytes())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.bytes = max(self.bytes, rss_bytes())


def elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1e3
