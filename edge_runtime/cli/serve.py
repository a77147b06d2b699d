"""``edge-runtime serve``: the daemon (HTTP API, camera loop, live stream)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
from collections.abc import Iterator
from pathlib import Path

from edge_runtime.cli.common import add_model_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run the daemon: HTTP API, camera loop, live overlay stream",
        description="Settings come from --config (YAML), EDGE_RUNTIME_* variables and flags; "
        "flags win.",
    )
    p.add_argument("--config", type=Path, help="YAML settings file")
    p.add_argument("--host", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default 8080; 0 picks a free one)")
    p.add_argument(
        "--source",
        help="picamera2[:N], opencv:N, /dev/videoN, rtsp://…, a video "
        "file, an image folder or glob, synthetic (default: uploads only)",
    )
    p.add_argument("--source-fps", type=float, help="pace of replayed sources")
    p.add_argument("--token-file", type=Path, help="bearer token file (or EDGE_RUNTIME_TOKEN)")
    p.add_argument(
        "--insecure-no-auth",
        action="store_const",
        const=True,
        help="allow a non-loopback bind without a token (logs a warning)",
    )
    add_model_args(p, defaults=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from edge_runtime.api.app import create_app
    from edge_runtime.api.runtime import Runtime
    from edge_runtime.settings import Settings, is_loopback

    flags = {name: getattr(args, name) for name in Settings.model_fields if hasattr(args, name)}
    settings = Settings.load(args.config, **flags)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.token is None and not is_loopback(settings.host):
        logging.getLogger("edge_runtime").warning(
            "serving %s on %s WITHOUT authentication (--insecure-no-auth): anyone on the "
            "network can use the camera and the model",
            "the API",
            settings.host,
        )
    runtime = Runtime.open(settings)
    app = create_app(runtime)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=10,
        access_log=settings.log_level == "debug",
    )
    server = _server_class()(config)
    server.run()
    return 0 if server.started else 1


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises SIGTERM after a graceful shutdown, so the process would die
        by the signal; a daemon that drained cleanly should exit 0 (systemd counts that
        as a clean stop)."""

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
