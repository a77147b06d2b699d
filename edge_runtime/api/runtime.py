"""What the daemon holds while it runs: settings, the pipeline, the camera loop, metrics.

The pipeline is created before the server starts (a bad model fails fast, with one
line); warm-up runs in the background so ``/readyz`` can say 503 until it is done.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from edge_runtime.api.prometheus import Metrics
from edge_runtime.api.zone_watch import ZoneWatch
from edge_runtime.engine import thread_advice, usable_cores
from edge_runtime.errors import ManifestError, SettingsError
from edge_runtime.options import ModelOptions
from edge_runtime.pipeline import Pipeline
from edge_runtime.results import Segmentation
from edge_runtime.settings import Settings
from edge_runtime.sources import make_source
from edge_runtime.sources.loop import FrameLoop, StreamHub, redact
from edge_runtime.zones import check_zones

log = logging.getLogger("edge_runtime")


def model_options(settings: Settings) -> ModelOptions:
    """The settings' model options; with a camera source and no ``threads`` set, the
    interpreter gets one core fewer than the process may use (at least 1): the capture
    thread decodes the next frame meanwhile. Measured on a 2-core VM with a replayed
    folder at full speed: 54.4 fps with 1 interpreter thread, 49.2 with 2 (invoke 12.1 vs
    14.3 ms: two interpreter threads and the capture thread fight for two cores). Uploads
    alone get every core (7.6 vs 12.1 ms there)."""
    options = settings.only_model_options()
    if settings.source and options.threads is None:
        options = options.model_copy(update={"threads": max(1, usable_cores() - 1)})
    return options


class Readiness(enum.Enum):
    """Where the model stands: only ``READY`` serves; ``STUCK`` is for good (systemd's
    watchdog restarts the daemon)."""

    WARMING_UP = "warming up"
    READY = "ready"
    WARM_UP_FAILED = "warm-up failed"
    STUCK = "inference stuck"


@dataclass
class Runtime:
    settings: Settings
    pipeline: Pipeline
    metrics: Metrics = field(default_factory=Metrics)
    hub: StreamHub = field(default_factory=StreamHub)
    frames: FrameLoop | None = None
    zones: ZoneWatch | None = None
    readiness: Readiness = Readiness.WARMING_UP
    detail: str = ""  # why, for a state other than READY
    _warm: threading.Thread | None = None
    _reload_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ready(self) -> bool:
        return self.readiness is Readiness.READY

    @property
    def not_ready_reason(self) -> str:
        if not self.detail:
            return self.readiness.value
        joint = " " if self.readiness is Readiness.STUCK else ": "  # stuck for 1.2 s
        return f"{self.readiness.value}{joint}{self.detail}"

    def _become(self, state: Readiness, detail: str = "") -> None:
        self.readiness, self.detail = state, detail
        self.metrics.ready.set(1 if state is Readiness.READY else 0)

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        advice = thread_advice(settings.threads)
        if advice:
            log.warning("%s", advice)
        pipe = Pipeline.open(options=model_options(settings), max_pixels=settings.max_pixels)
        runtime = cls(settings, pipe)
        if settings.source:
            source = make_source(
                settings.source, fps=settings.source_fps, model_size=pipe.input_size
            )
            runtime.frames = FrameLoop(
                source,
                pipe,
                runtime.hub,
                alpha=settings.overlay_alpha,
                jpeg_quality=settings.jpeg_quality,
                retry_initial_s=settings.source_retry_initial_s,
                retry_max_s=settings.source_retry_max_s,
                on_segmented=runtime._observe_frame,
                on_encoded=lambda ms: runtime.metrics.observe_encode(ms, "camera"),
            )
        if settings.zones:
            if runtime.frames is None:
                raise SettingsError("zones need a camera source (--source)")
            runtime.zones = ZoneWatch(
                settings, pipe.spec.labels, runtime.metrics, runtime.hub, pipe.spec.name
            )
        elif settings.mqtt is not None:
            raise SettingsError("mqtt publishes zone events: set zones too")
        runtime._describe_model()
        return runtime

    def _describe_model(self) -> None:
        spec, delegate = self.pipeline.spec, self.pipeline.engine.delegate
        version = spec.manifest.version if spec.manifest else "bare"
        sha = spec.manifest.sha256[:12] if spec.manifest else "-"
        self.metrics.model_info.labels(spec.name, version, sha, delegate.kind).set(1)
        m = self.metrics
        if self.frames is not None:
            frames = self.frames
            m.camera.read = frames.counts
            m.source_up.set_function(lambda: 1.0 if frames.stats.state == "running" else 0.0)
        m.stream_clients.set_function(lambda: self.hub.clients)

    def _observe_frame(self, seg: Segmentation) -> None:
        self.metrics.observe(seg.timings, "camera")
        if self.zones is not None:
            self.zones.observe(seg)

    def start(self) -> None:
        """Warm up in the background, then start the camera loop."""

        def warm() -> None:
            try:
                self.pipeline.warm_up(self.settings.warmup_runs)
            except Exception as exc:  # a model that cannot invoke: stay up, say why
                self._become(Readiness.WARM_UP_FAILED, str(exc))
                log.error("warm-up failed: %s", exc)
                return
            self._become(Readiness.READY)
            log.info(
                "ready: %s on %s", self.pipeline.spec.name, self.pipeline.engine.delegate.describe()
            )
            if self.frames is not None:
                self.frames.start()

        if self.zones is not None and self.zones.mqtt is not None:
            self.zones.mqtt.start()
        self._warm = threading.Thread(target=warm, name="warm-up", daemon=True)
        self._warm.start()

    def stop(self) -> None:
        """Bounded whatever is stuck (≤ 7 s): with the 8 s grace for uploads, a stop
        stays inside the unit's TimeoutStopSec=20."""
        if self._warm is not None:
            self._warm.join(2)
        if self.frames is not None:
            self.frames.stop(timeout=3)
        if self.zones is not None:
            self.zones.close()  # open events end now (stored, published) before MQTT stops
            if self.zones.mqtt is not None:
                self.zones.mqtt.stop()
        if not self.pipeline.close(timeout=2):
            log.warning("an invoke is still running at shutdown; not waiting for it")

    def healthy(self) -> bool:
        """What feeds systemd's watchdog: no stuck inference, no failed or stalled camera
        loop."""
        stuck = self.check_stuck()
        failed = self.frames is not None and self.frames.stats.state == "failed"
        return not stuck and not failed and self.camera_stall() is None

    def camera_stall(self) -> str | None:
        """Why the camera loop is not advancing (a frame in processing for longer than
        ``camera_stall_timeout_s``, whatever part of the work holds it), or None."""
        if self.frames is None:
            return None
        busy = self.frames.busy_for()
        if busy <= self.settings.camera_stall_timeout_s:
            return None
        return f"camera loop stalled: one frame in processing for {busy:.0f} s"

    def check_stuck(self) -> bool:
        """The watchdog: an invoke past ``inference_timeout_s`` makes the daemon unready
        for good (systemd, no longer fed WATCHDOG=1, restarts it)."""
        stuck = self.pipeline.engine.stuck_for()
        if stuck > self.settings.inference_timeout_s and self.ready:
            self._become(Readiness.STUCK, f"for {stuck:.1f} s")
            log.error("watchdog: %s; no longer ready", self.not_ready_reason)
        return self.readiness is Readiness.STUCK

    def reload(self, model: Path | None = None) -> Pipeline:
        """Load ``model`` (default: the configured one, re-read from disk) beside the
        running model, warm it up, then swap. Any failure leaves the old one serving and
        raises ``EdgeRuntimeError`` with the reason."""
        with self._reload_lock:
            options = self.settings.model_copy(update={"model": model}) if model else self.settings
            try:
                fresh = Pipeline.open(
                    options=model_options(options), max_pixels=self.settings.max_pixels
                )
                if model is None and self.pipeline.spec.manifest and not fresh.spec.manifest:
                    # Same file, manifest gone: nothing vouches for what is there now.
                    raise ManifestError(
                        f"the manifest of {self.pipeline.spec.name} has vanished; "
                        "refusing a model nothing vouches for (restore its .json)"
                    )
                if self.zones is not None:  # before the swap: a refusal keeps the old model
                    check_zones(self.zones.zones, fresh.spec.labels)
                fresh.warm_up(max(1, self.settings.warmup_runs))
            except Exception as exc:
                self.metrics.reloads.labels("error").inc()
                log.error("reload failed, the old model keeps serving: %s", exc)
                raise
            old, self.pipeline = self.pipeline, fresh
            if self.zones is not None:
                self.zones.relabel(fresh.spec.labels)
            if self.frames is not None:
                self.frames.pipe = fresh
            if model:
                self.settings = options
            self.metrics.model_info.clear()
            self._describe_model()
            self.metrics.reloads.labels("ok").inc()
            log.info("reloaded: %s (was %s)", fresh.spec.name, old.spec.name)
            return fresh

    def status(self) -> tuple[str, str | None]:
        """``ready`` · ``degraded`` (serving uploads, but the camera is down: why) ·
        ``not_ready`` (why)."""
        if not self.ready:
            return "not_ready", self.not_ready_reason
        if self.frames is not None and self.frames.stats.state == "failed":
            return "not_ready", f"camera loop failing: {self.frames.stats.last_error}"
        stall = self.camera_stall()
        if stall is not None:
            return "not_ready", stall
        if self.frames is not None and self.frames.stats.state == "reconnecting":
            return "degraded", f"camera down: {self.frames.stats.last_error}"
        if self.zones is not None and self.zones.store.problem:
            return "degraded", self.zones.store.problem
        return "ready", None

    def camera_state(self) -> dict[str, object] | None:
        if self.frames is None:
            return None
        s = self.frames.stats
        return {
            "source": redact(s.name),
            "state": s.state,
            "last_error": s.last_error,
            **self.frames.counts(),
        }
