"""The camera pipeline: capture thread → one-slot latest frame → inference loop → one
shared overlay JPEG for every stream client.

Nothing queues: a frame replaced before the inference loop took it is counted as
skipped, and a slow stream client simply sees fewer frames (picamera2's mjpeg_server
pattern), so memory stays flat whatever the camera and the clients do.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from edge_runtime.encode import OVERLAY_ALPHA
from edge_runtime.errors import ImageError
from edge_runtime.pipeline import Pipeline
from edge_runtime.results import Segmentation
from edge_runtime.sources.base import Frame, FrameSource

log = logging.getLogger("edge_runtime")
WARN_EVERY_S = 60.0
FAIL_AFTER = 10  # frames failing in a row before the camera loop counts as failed
_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def redact(text: str) -> str:
    """``rtsp://admin:secret@cam/`` → ``rtsp://***@cam/``: what logs and pages may show."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


class LatestFrame:
    """A one-slot holder: ``put`` replaces, ``take`` waits for a frame newer than the last
    one taken. Replaced, never-taken frames are counted in ``skipped``."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._taken = True
        self.skipped = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if not self._taken:
                self.skipped += 1
            self._frame, self._taken = frame, False
            self._cond.notify_all()

    def take(self, timeout: float) -> Frame | None:
        with self._cond:
            if self._taken and not self._cond.wait_for(lambda: not self._taken, timeout):
                return None
            self._taken = True
            return self._frame


class StreamFrame:
    """One processed camera frame: its summary, and its overlay JPEG made on first demand
    (a viewer, a snapshot, an event) and then shared; a frame nobody asks for is never
    encoded."""

    def __init__(self, seq: int, summary: dict[str, object], encode: Callable[[], bytes]):
        self.seq, self.summary = seq, summary
        self._encode: Callable[[], bytes] | None = encode
        self._jpeg: bytes | None = None
        self._lock = threading.Lock()

    def jpeg(self) -> bytes:
        """The overlay JPEG (encoded now if nobody asked before; CPU work: call it off an
        event loop)."""
        with self._lock:
            if self._jpeg is None:
                assert self._encode is not None
                self._jpeg = self._encode()
                self._encode = None  # let the frame's pixels go
            return self._jpeg


class StreamHub:
    """The latest overlay JPEG, encoded once, shared by all clients. Publishing happens on
    the inference thread; async clients wait on an event set in their own event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latest: StreamFrame | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self.clients = 0
        self.closed = False  # set at shutdown: every stream ends at once

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def close(self) -> None:
        """End every stream now (the server waits for open connections before it stops)."""
        self.closed = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    def publish(self, summary: dict[str, object], jpeg: bytes | Callable[[], bytes]) -> None:
        """A new latest frame: its summary, and its JPEG or how to make it on demand."""
        encode = jpeg if callable(jpeg) else (lambda: jpeg)
        with self._lock:
            seq = self.latest.seq + 1 if self.latest else 1
            self.latest = StreamFrame(seq, summary, encode)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = asyncio.Event()

    async def next_frame(self, after: int, timeout: float) -> StreamFrame | None:
        """The first frame with ``seq > after``, or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            latest = self.latest
            if latest is not None and latest.seq > after:
                return latest
            event = self._event
            remaining = deadline - time.monotonic()
            if event is None or remaining <= 0:
                return None
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                return None
        return None


@dataclass
class SourceStats:
    """What /readyz, /metrics and the web page show about the camera."""

    name: str
    state: str = "starting"  # starting | running | reconnecting | failed | stopped
    last_error: str | None = None
    captured: int = 0
    processed: int = 0
    reconnects: int = 0
    frame_errors: int = 0
    invoke_ms: deque[float] = field(default_factory=lambda: deque(maxlen=200))
    frame_times: deque[float] = field(default_factory=lambda: deque(maxlen=60))

    @property
    def fps(self) -> float:
        if len(self.frame_times) < 2:
            return 0.0
        span = self.frame_times[-1] - self.frame_times[0]
        return (len(self.frame_times) - 1) / span if span > 0 else 0.0

    def invoke_percentiles(self) -> dict[str, float | None]:
        if not self.invoke_ms:
            return {"p50": None, "p95": None}
        arr = np.fromiter(self.invoke_ms, float)
        return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95))}


class FrameLoop:
    """Runs a source through the pipeline on two threads until ``stop``.

    ``on_segmented`` is called with each processed frame's segmentation (metrics hook).
    HTTP uploads share the pipeline; while any is waiting (``uploads_waiting``), the
    inference loop holds back so uploads are not starved.
    """

    def __init__(
        self,
        source: FrameSource,
        pipe: Pipeline,
        hub: StreamHub,
        *,
        alpha: float = OVERLAY_ALPHA,
        jpeg_quality: int = 80,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 10.0,
        on_segmented: Callable[[Segmentation], None] | None = None,
        on_encoded: Callable[[float], None] | None = None,
    ):
        self.source, self.pipe, self.hub = source, pipe, hub
        self.alpha, self.jpeg_quality = alpha, jpeg_quality
        self.retry_initial_s, self.retry_max_s = retry_initial_s, retry_max_s
        self.on_segmented = on_segmented
        self.on_encoded = on_encoded  # ms, when a frame's overlay is made (on demand)
        self.latest = LatestFrame()
        self.stats = SourceStats(source.name)
        self.uploads_waiting = 0
        self._uploads = threading.Condition()  # the loop waits here while uploads are queued
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._down_since: float | None = None
        self._last_warning = 0.0
        self._failures_in_a_row = 0
        self._busy_since: float | None = None
        # Set while the loop holds a frame back for queued uploads (what tests wait on).
        self.held = threading.Event()

    @property
    def skipped(self) -> int:
        return self.latest.skipped

    def counts(self) -> dict[str, int]:
        """The loop's running counts, under the names /readyz and /metrics both use."""
        s = self.stats
        return {
            "captured": s.captured,
            "processed": s.processed,
            "skipped": self.skipped,
            "reconnects": s.reconnects,
            "frame_errors": s.frame_errors,
        }

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._capture, name="capture", daemon=True),
            threading.Thread(target=self._infer, name="inference", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._uploads:
            self._uploads.notify_all()
        deadline = time.monotonic() + timeout  # for all threads together
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self.stats.state = "stopped"

    def upload_started(self) -> None:
        with self._uploads:
            self.uploads_waiting += 1

    def upload_finished(self) -> None:
        with self._uploads:
            self.uploads_waiting -= 1
            if not self.uploads_waiting:
                self._uploads.notify_all()

    def _capture(self) -> None:
        delay = self.retry_initial_s
        while not self._stop.is_set():
            try:
                self.source.open()
            except Exception as exc:  # any failure of a camera library: retry, never die
                self._failed(exc)
                self._stop.wait(delay)
                delay = min(delay * 2, self.retry_max_s)
                continue
            self._recovered()
            delay = self.retry_initial_s
            try:
                self._read_until_failure()
            except Exception as exc:  # unplugged, EOF, RTSP drop, library error
                self._failed(exc)
                self._stop.wait(delay)
                delay = min(delay * 2, self.retry_max_s)
            finally:
                self.source.close()

    def _read_until_failure(self) -> None:
        period = 1.0 / self.source.fps if self.source.fps else 0.0
        next_at = time.monotonic()
        while not self._stop.is_set():
            frame = self.source.read()
            self.stats.captured += 1
            self.latest.put(frame)
            if period:
                next_at += period
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _failed(self, exc: Exception) -> None:
        if self.stats.state == "failed":
            return
        self.stats.state, self.stats.last_error = "reconnecting", redact(str(exc))
        self.stats.reconnects += 1
        now = time.monotonic()
        # One WARNING when the source goes down, then at most one a minute while it stays
        # down (a camera unplugged overnight must not fill the journal).
        if self._down_since is None or now - self._last_warning >= WARN_EVERY_S:
            log.warning(
                "camera %s is down (%s); retrying", redact(self.source.name), self.stats.last_error
            )
            self._last_warning = now
        if self._down_since is None:
            self._down_since = now

    def _recovered(self) -> None:
        if self.stats.state == "failed":
            return
        if self._down_since is not None:
            log.info(
                "camera %s is back after %.1f s",
                redact(self.source.name),
                time.monotonic() - self._down_since,
            )
        self._down_since = None
        self.stats.state, self.stats.last_error = "running", None

    def _infer(self) -> None:
        """Supervised: an exception in one frame is logged, counted and the frame skipped;
        ``FAIL_AFTER`` failures in a row mark the loop ``failed`` (``/readyz`` 503, no more
        watchdog pings, so systemd restarts the daemon). The thread never dies silently."""
        while not self._stop.is_set():
            frame = self.latest.take(timeout=0.5)
            if frame is None:
                continue
            with self._uploads:  # uploads go first: the frame waits, an HTTP client would not
                if self.uploads_waiting:
                    self.held.set()
                self._uploads.wait_for(lambda: not self.uploads_waiting or self._stop.is_set())
                self.held.clear()
            try:
                self._process(frame)
            except Exception as exc:
                self._frame_failed(exc)
            else:
                self._failures_in_a_row = 0

    def busy_for(self) -> float:
        """Seconds the frame being processed has taken so far (0 between frames): what the
        progress watchdog reads, whatever part of the work is stuck."""
        started = self._busy_since
        return 0.0 if started is None else time.monotonic() - started

    def _process(self, frame: Frame) -> None:
        self._busy_since = time.monotonic()
        try:
            self._segment_and_publish(frame)
        finally:
            self._busy_since = None

    def _segment_and_publish(self, frame: Frame) -> None:
        pixels, display = frame if isinstance(frame, tuple) else (frame, None)
        pipe = self.pipe  # a reload may swap it; this frame stays with its own
        seg = pipe.segment(pixels)
        self.stats.processed += 1
        self.stats.invoke_ms.append(seg.timings.invoke_ms)
        self.stats.frame_times.append(time.monotonic())

        def encode() -> bytes:
            shown = None if display is None else Image.fromarray(display)
            encoded = pipe.encode(
                seg, "overlay", alpha=self.alpha, jpeg_quality=self.jpeg_quality, picture=shown
            )
            if self.on_encoded is not None:
                self.on_encoded(encoded.segmentation.timings.encode_ms)
            return encoded.data

        self.hub.publish(seg.summary(), encode)
        if self.on_segmented is not None:
            self.on_segmented(seg)

    def _frame_failed(self, exc: Exception) -> None:
        self.stats.frame_errors += 1
        self.stats.last_error = redact(f"{type(exc).__name__}: {exc}")
        self._failures_in_a_row += 1
        if isinstance(exc, ImageError):  # a bad frame: expected now and then
            log.debug("frame skipped: %s", self.stats.last_error)
        elif self.stats.frame_errors == 1 or self._failures_in_a_row == FAIL_AFTER:
            log.warning("camera frame failed, skipped: %s", self.stats.last_error, exc_info=exc)
        if self._failures_in_a_row >= FAIL_AFTER and self.stats.state != "failed":
            self.stats.state = "failed"
            log.error(
                "camera loop: %d frames failed in a row (%s); no longer ready",
                self._failures_in_a_row,
                self.stats.last_error,
            )
