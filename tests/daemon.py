"""Test helpers around the real daemon (``edge_runtime.bench.daemon``): gates that hold
an invoke or a model load, and waits on its log and metrics."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx

from edge_runtime.bench.daemon import Daemon, free_port, start_daemon

__all__ = ["Daemon", "free_port", "start_daemon"]


def start_slow_daemon(
    tmp_path: Path, zoo_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Daemon:
    """A daemon on the 513x513 DeepLab-like zoo model with one thread: slow enough per
    inference for warm-up, overload and frame-skipping to be observable."""
    model = str(zoo_dir / "deeplab_uint8_argmax.tflite")
    return start_daemon(tmp_path, "--model", model, "--threads", "1", *args, env=env)


HOOKS = Path(__file__).resolve().parent / "hooks"


GATES = {
    "invoke": "EDGE_TEST_INVOKE_GATE",  # every invoke waits
    "load": "EDGE_TEST_LOAD_GATE",  # the first model load waits
    "contour": "EDGE_TEST_CONTOUR_GATE",  # every polygon tracing waits
}


def start_gated_daemon(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, gate: str = "invoke"
) -> tuple[Daemon, Path]:
    """A daemon whose ``gate`` step (``GATES``) waits on a named pipe (tests/hooks/
    sitecustomize.py): write ``once`` to it to let one through, ``all`` for every later
    one. Tests hold a step for exactly as long as they need, on any CPU."""
    fifo = tmp_path / f"{gate}.gate"
    os.mkfifo(fifo)
    hooks = {"PYTHONPATH": str(HOOKS), GATES[gate]: str(fifo)}
    return start_daemon(tmp_path, *args, env={**hooks, **(env or {})}), fifo


def wait_for_log(daemon: Daemon, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in daemon.log.read_text():
        if time.monotonic() > deadline or daemon.proc.poll() is not None:
            raise AssertionError(f"{text!r} never logged:\n{daemon.log.read_text()}")
        time.sleep(0.05)


def wait_for_metric(daemon: Daemon, line: str, timeout: float = 60) -> None:
    """Until ``/metrics`` has the exact ``line`` (e.g. ``edge_uploads_waiting 1.0``)."""
    deadline = time.monotonic() + timeout
    while line not in httpx.get(daemon.url + "/metrics", timeout=30).text.splitlines():
        if time.monotonic() > deadline:
            raise AssertionError(f"/metrics never had {line!r}")
        time.sleep(0.05)


def refused(tmp_path: Path, *args: str) -> str:
    """``edge-runtime serve ARGS`` must refuse to start: exit 2, one line, no traceback.
    Returns what it printed."""
    d = start_daemon(tmp_path, *args)
    assert d.proc.wait(60) == 2
    out = d.log.read_text()
    assert "Traceback" not in out, out
    return out
