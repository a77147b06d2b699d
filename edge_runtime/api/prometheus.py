"""Prometheus metrics of one daemon (its own registry, so tests can run several)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import ClassVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from edge_runtime.results import StageTimings

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0,
                   2.5, 5.0)  # fmt: skip


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "edge_requests",
            "HTTP requests by route and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.stage = Histogram(
            "edge_stage_seconds",
            "Pipeline stage latency, by stage and origin (upload or camera)",
            ["stage", "origin"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.inference = Histogram(
            "edge_inference_seconds",
            "Interpreter invoke latency",
            ["origin"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.source_up = Gauge("edge_camera_up", "1 while the source delivers frames", registry=r)
        self.camera = CameraCounts()
        r.register(self.camera)
        self.stream_clients = Gauge("edge_stream_clients", "Open /stream.mjpg clients", registry=r)
        self.uploads_inflight = Gauge(
            "edge_uploads_inflight", "Uploads holding an inference slot", registry=r
        )
        self.uploads_receiving = Gauge(
            "edge_uploads_receiving", "Uploads whose body is still arriving", registry=r
        )
        self.uploads_waiting = Gauge(
            "edge_uploads_waiting", "Uploads queued for an inference slot", registry=r
        )
        # prometheus-client's own: edge_process_resident_memory_bytes, open file
        # descriptors (and their limit), CPU seconds, start time.
        ProcessCollector(namespace="edge", registry=r)
        self.model_info = Gauge(
            "edge_model_info",
            "The loaded model (value 1)",
            ["name", "version", "sha256", "delegate"],
            registry=r,
        )
        self.uploads_aborted = Counter(
            "edge_uploads_aborted",
            "Uploads the client abandoned before the body arrived",
            registry=r,
        )
        self.reloads = Counter(
            "edge_model_reloads", "Model reloads by result", ["result"], registry=r
        )
        self.ready = Gauge("edge_ready", "1 once the model is loaded and warmed up", registry=r)
        self.zone_fraction = Gauge(
            "edge_zone_fraction",
            "Share of the zone's pixels the class holds in the latest camera frame",
            ["zone", "class"],
            registry=r,
        )
        self.mqtt_connected = Gauge(
            "edge_mqtt_connected", "1 while connected to the MQTT broker", registry=r
        )
        self.events = Counter(
            "edge_events", "Zone events started, by zone and class", ["zone", "class"], registry=r
        )
        self.event_write_failures = ReadCounter(
            "edge_event_write_failures", "Event files (JSON or JPEG) that could not be written"
        )
        r.register(self.event_write_failures)
        self.mqtt_dropped = ReadCounter(
            "edge_mqtt_dropped", "Events and shares dropped while the MQTT backlog was full"
        )
        r.register(self.mqtt_dropped)

    def observe(self, timings: StageTimings, origin: str) -> None:
        """One segmentation's stages. A camera frame's overlay is encoded only when
        someone looks (``observe_encode``), so its encode and total are left out here."""
        for stage, ms in timings.as_dict().items():
            if origin == "camera" and stage in ("encode", "total"):
                continue
            self.stage.labels(stage, origin).observe(ms / 1e3)
        self.inference.labels(origin).observe(timings.invoke_ms / 1e3)

    def observe_encode(self, ms: float, origin: str) -> None:
        self.stage.labels("encode", origin).observe(ms / 1e3)


class CameraCounts(Collector):
    """The camera loop's running counts, exported as counters (``*_total``) read at
    scrape time from the loop's own statistics: nothing to keep in step."""

    # FrameLoop.counts() name -> (metric name, help)
    COUNTS: ClassVar[dict[str, tuple[str, str]]] = {
        "captured": ("edge_camera_frames_captured", "Frames read from the source"),
        "processed": ("edge_camera_frames_processed", "Frames segmented"),
        "skipped": (
            "edge_camera_frames_skipped",
            "Frames replaced before they could be segmented",
        ),
        "frame_errors": ("edge_camera_frame_errors", "Frames that failed in the camera loop"),
        "reconnects": ("edge_camera_reconnects", "Times the source failed and was retried"),
    }

    def __init__(self) -> None:
        self.read: Callable[[], dict[str, int]] | None = None  # set once a camera runs

    def collect(self) -> Iterator[CounterMetricFamily]:
        values = self.read() if self.read is not None else {}
        for key, (name, doc) in self.COUNTS.items():
            if key in values:
                yield CounterMetricFamily(name, doc, value=values[key])

    def describe(self) -> Iterator[CounterMetricFamily]:
        return iter(())  # names depend on whether a camera runs: collect at scrape time


class ReadCounter(Collector):
    """One counter (``NAME_total``) whose value is read at scrape time from whoever owns
    the count (``read``); absent until something sets ``read``."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name, self.documentation = name, documentation
        self.read: Callable[[], int] | None = None

    def collect(self) -> Iterator[CounterMetricFamily]:
        if self.read is not None:
            yield CounterMetricFamily(self.name, self.documentation, value=self.read())

    def describe(self) -> Iterator[CounterMetricFamily]:
        return iter(())
