"""A real daemon: ``edge-runtime serve`` in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kw)  # type: ignore[arg-type]

    def wait(
        self, path: str = "/healthz", status: int = 200, timeout: float = 60
    ) -> httpx.Response:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited {self.proc.returncode}:\n{self.log.read_text()}"
                )
            try:
                r = httpx.get(self.url + path, timeout=5)
                if r.status_code == status:
                    return r
                last = r.status_code
            except httpx.TransportError as exc:
                last = exc
            time.sleep(0.05)
        raise AssertionError(
            f"{path} never answered {status} (last: {last})\n{self.log.read_text()}"
        )

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_daemon(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Daemon:
    port = free_port()
    log = tmp_path / f"daemon-{port}.log"
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge_runtime.cli.main", "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    return Daemon(proc, f"http://127.0.0.1:{port}", log)


def start_slow_daemon(
    tmp_path: Path, zoo_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Daemon:
    """A daemon on the 513x513 DeepLab-like zoo model with one thread: slow enough per
    inference for warm-up, overload and frame-skipping to be observable."""
    model = str(zoo_dir / "deeplab_uint8_argmax.tflite")
    return start_daemon(tmp_path, "--model", model, "--threads", "1", *args, env=env)


HOOKS = Path(__file__).resolve().parent / "hooks"


def start_gated_daemon(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[Daemon, Path]:
    """A daemon whose every invoke waits on a named pipe (tests/hooks/sitecustomize.py):
    write ``once`` to it to let one invoke run, ``all`` for every later one. Tests hold an
    inference for exactly as long as they need, on any CPU."""
    gate = tmp_path / "invoke.gate"
    os.mkfifo(gate)
    hooks = {"PYTHONPATH": str(HOOKS), "EDGE_TEST_INVOKE_GATE": str(gate)}
    return start_daemon(tmp_path, *args, env={**hooks, **(env or {})}), gate


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
