"""``edge-runtime serve``: the daemon (HTTP API, camera loop, live stream)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from edge_runtime.cli.common import add_model_args, error

if TYPE_CHECKING:
    from edge_runtime.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run the daemon: HTTP API, camera loop, live overlay stream",
        description="Settings come from --config (YAML), EDGE_RUNTIME_* variables and flags; "
        "flags win.",
    )
    p.add_argument("--config", type=Path, help="YAML settings file")
    from edge_runtime.settings import Settings

    # Help from the settings' own descriptions: each is written once, in Settings.
    fields = Settings.model_fields
    for name, kw in (
        ("host", {}),
        ("port", {"type": int}),
        ("source", {}),
        ("source_fps", {"type": float}),
        ("token_file", {"type": Path}),
        ("insecure_no_auth", {"action": "store_const", "const": True}),
    ):
        default = fields[name].default
        shown = f" (default {default})" if default not in (None, False) else ""
        p.add_argument(
            "--" + name.replace("_", "-"), help=f"{fields[name].description}{shown}", **kw
        )
    add_model_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from edge_runtime import allocator
    from edge_runtime.api.app import begin_shutdown, create_app
    from edge_runtime.api.draining import GRACEFUL_SHUTDOWN_S
    from edge_runtime.api.runtime import Runtime
    from edge_runtime.settings import is_loopback

    settings = load_settings(args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("asyncio").addFilter(OncePerMinute("socket.accept() out of system"))
    if settings.token is None and not is_loopback(settings.host):
        logging.getLogger("edge_runtime").warning(
            "serving %s on %s WITHOUT authentication (--insecure-no-auth): anyone on the "
            "network can use the camera and the model",
            "the API",
            settings.host,
        )
    # Bind before loading the model: a taken port fails at once, in one line, and
    # nothing (no "ready") is logged for a daemon that will never serve.
    try:
        sock = listen(settings.host, settings.port)
    except PortInUseError as exc:
        error("edge-runtime", exc)
        return EXIT_PORT_IN_USE
    allocator.tune()
    runtime = Runtime.open(settings)
    app = create_app(runtime)
    app.state.address = (settings.host, sock.getsockname()[1])  # the watchdog's self-check
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=sock.getsockname()[1],
        log_level=settings.log_level,
        timeout_graceful_shutdown=int(GRACEFUL_SHUTDOWN_S),
        access_log=settings.log_level == "debug",
        http=_protocol_class(),
    )
    server = _server_class()(config, on_exit=lambda: begin_shutdown(app))
    # Printed, not logged: whatever the log level, a person (or a test) learns the address.
    print(open_hint(settings, sock.getsockname()[1]), flush=True)
    server.run(sockets=[sock])
    code = 0 if server.started else 1
    _exit_now_if_an_invoke_is_stuck(code)
    return code


def _exit_now_if_an_invoke_is_stuck(code: int) -> None:
    """Python joins every worker thread at exit, and an invoke stuck in native code
    never returns: the stop would last until systemd's SIGKILL. Everything that matters
    has shut down by now, so leave without waiting for it."""
    import os
    import sys
    import threading
    import time

    deadline = time.monotonic() + 2.0  # idle pool threads are just ending
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    for t in others:
        if not t.daemon:
            t.join(max(0.0, deadline - time.monotonic()))
    busy = [t.name for t in others if t.is_alive() and not t.daemon]
    if busy:
        logging.getLogger("edge_runtime").warning(
            "exiting with %d thread(s) still busy (%s)", len(busy), ", ".join(sorted(set(busy)))
        )
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


EXIT_PORT_IN_USE = 3


def open_hint(settings: Settings, port: int) -> str:
    """The line that tells a person where to look: the live page, and how to upload."""
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        where = f"http://<this machine's address>:{port}"
    else:
        where = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    page = "the live page" if settings.source else "the page (no --source: uploads only)"
    return (
        f"open {where}/ for {page}; upload with curl -F image=@photo.jpg "
        f"'{where}/v1/segment?format=overlay' -o overlay.jpg; API docs at {where}/docs"
    )


def load_settings(args: argparse.Namespace) -> Settings:
    """The typed flags over ``EDGE_RUNTIME_*`` over ``--config`` (``Settings.load``)."""
    from edge_runtime.settings import Settings

    flags = {name: getattr(args, name) for name in Settings.model_fields if hasattr(args, name)}
    return Settings.load(args.config, **flags)


class OncePerMinute(logging.Filter):
    """asyncio logs every failed accept() with its traceback, once a second per socket
    while file descriptors run out (213 MiB of log in 30 s, seen): keep one line a
    minute, without the traceback. The watchdog's own warning says what it means."""

    def __init__(self, prefix: str, every_s: float = 60.0):
        super().__init__()
        self.prefix, self.every_s = prefix, every_s
        self._last = -every_s

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith(self.prefix):
            return True
        import time

        now = time.monotonic()
        if now - self._last < self.every_s:
            return False
        self._last = now
        record.exc_info = record.exc_text = None
        record.msg, record.args = record.getMessage().splitlines()[0], ()
        return True


class PortInUseError(OSError):
    pass


def listen(host: str, port: int) -> socket.socket:
    """A bound TCP socket for ``host:port`` (IPv4 or IPv6; port 0 picks a free one).

    Raises ``PortInUseError``, or ``SettingsError`` when the address cannot be bound at all.
    """
    from edge_runtime.settings import SettingsError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror as exc:
        raise SettingsError(f"cannot resolve host {host!r}: {exc.strerror}") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(f"port {port} is already in use") from exc
        raise SettingsError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


def _protocol_class() -> type:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class FirstByteDeadline(H11Protocol):
        """uvicorn closes a keep-alive connection idle for ``timeout_keep_alive`` (5 s),
        but never one that does not send its first byte: each holds a file descriptor for
        good (1,100 of them made a daemon unreachable). The same timer, started at
        connect; the first byte received cancels it, as uvicorn does for keep-alive."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    return FirstByteDeadline


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises SIGTERM after a graceful shutdown, so the process would die
        by the signal; a daemon that drained cleanly should exit 0 (systemd counts that
        as a clean stop). ``on_exit`` runs at the signal: open streams end at once instead
        of holding the graceful shutdown for its whole timeout."""

        def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]):
            super().__init__(config)
            self._on_exit = on_exit

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            self._on_exit()
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            sigs = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in sigs}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server
