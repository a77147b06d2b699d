"""A real daemon: ``edge-runtime serve`` in a subprocess on a free loopback port. Used by
the benchmarks and by the tests, which drive it the way a client would."""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` whose labels include ``labels`` in a /metrics
    page, read with prometheus-client's own parser; None when there is none."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# "open http://HOST:PORT/ ..."; a wildcard bind prints a placeholder host, reached on loopback.
OPEN_LINE = re.compile(r"^open http://(.*?):(\d+)/", re.M)


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    log: Path
    _url: str | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the port the daemon bound itself (``--port 0``), read
        from the line it prints once it listens (waits for it; raises if it exits)."""
        deadline = time.monotonic() + 120
        while self._url is None:
            found = OPEN_LINE.search(self.log.read_text(errors="replace"))
            if found:
                host, port = found.groups()
                if host.startswith("<"):
                    host = "127.0.0.1"
                self._url = f"http://{host}:{port}"
                break
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited {self.proc.returncode}:\n{self.log.read_text()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the daemon never said where it listens:\n{self.log.read_text()}"
                )
            time.sleep(0.02)
        return self._url

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kw)  # type: ignore[arg-type]

    def wait(
        self, path: str = "/healthz", status: int = 200, timeout: float = 60, poll_s: float = 0.05
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
            time.sleep(poll_s)
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


def start_daemon(
    folder: Path, *args: str, env: dict[str, str] | None = None, log_name: str | None = None
) -> Daemon:
    """``edge-runtime serve ARGS`` on a port the daemon picks itself (``--port 0``: no race
    with another process for a port chosen beforehand); its output goes to
    ``folder/log_name`` (default ``daemon-N.log``)."""
    log = folder / (log_name or f"daemon-{next(_serial)}.log")
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge_runtime.cli.main", "serve", "--port", "0", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    return Daemon(proc, log)


_serial = itertools.count()


def peak_rss_reset(pid: int) -> None:
    """Start a new peak-RSS window for ``pid`` (Linux: /proc/PID/clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def rss_mb(pid: int) -> tuple[float, float]:
    """(peak since the last reset, now) resident memory of ``pid``, MB."""
    status = Path(f"/proc/{pid}/status").read_text()

    def field(name: str) -> float:
        return int(status.split(name + ":")[1].split()[0]) / 1024

    return field("VmHWM"), field("VmRSS")
