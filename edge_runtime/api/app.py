"""The app factory: routers, error handlers, request metrics and the lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request, Response

from edge_runtime import __version__
from edge_runtime.api import auth, problems
from edge_runtime.api.admission import Admission
from edge_runtime.api.draining import Draining
from edge_runtime.api.routes import events, health, models, page, segment, stream
from edge_runtime.api.runtime import Runtime
from edge_runtime.systemd_notify import notify, watchdog_interval_s

log = logging.getLogger("edge_runtime")


async def _reload_quietly(runtime: Runtime) -> None:
    with contextlib.suppress(Exception):  # logged and counted by reload()
        await asyncio.to_thread(runtime.reload)


def create_app(runtime: Runtime) -> FastAPI:
    """An app serving ``runtime``; the lifespan warms it up, starts the camera loop,
    talks to systemd, and stops everything on shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        runtime.hub.bind(loop)
        draining.bind(loop)
        runtime.start()
        # SIGHUP reloads the model, as daemons do (off the event loop: loading takes time).
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(
                signal.SIGHUP, lambda: loop.create_task(_reload_quietly(runtime))
            )
        address = getattr(app.state, "address", None)  # set by `serve` once bound
        tasks = [asyncio.create_task(_systemd(runtime, address))]
        try:
            yield
        finally:
            notify("STOPPING=1")
            for t in tasks:
                t.cancel()
            await asyncio.to_thread(runtime.stop)

    app = FastAPI(
        title="edge-runtime",
        version=__version__,
        lifespan=lifespan,
        description="Semantic segmentation on the edge: upload an image, or watch the camera.",
        docs_url=None,  # served below from an installed package: FastAPI's uses a CDN
        redoc_url=None,
    )
    _offline_docs(app)
    app.state.runtime = runtime
    st = runtime.settings
    draining = Draining()
    app.state.draining = draining
    admission = Admission(st.max_inflight, st.max_waiting, st.request_timeout_s, draining)
    app.state.admission = admission
    runtime.metrics.uploads_inflight.set_function(lambda: admission.inflight)
    runtime.metrics.uploads_waiting.set_function(lambda: admission.waiting)
    problems.install(app)
    for r in (
        segment.router,
        models.router,
        health.router,
        stream.router,
        events.router,
        page.router,
    ):
        app.include_router(r)

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """The token, and the Host name (DNS-rebinding guard) on every route but /healthz."""
        st = runtime.settings
        denied = auth.check(request, st.token)
        if request.url.path != "/healthz" and not auth.host_allowed(
            request, st.allowed_hosts, st.host
        ):
            denied = problems.error_response(
                400,
                "bad_host",
                "this daemon does not answer to that Host name (allowed_hosts setting)",
            )
        return denied or await call_next(request)

    @app.middleware("http")  # added last, so outermost: it counts the guard's refusals too
    async def count(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        try:
            response = await call_next(request)
        except Exception:  # a bug: the 500 is sent by the outermost handler, count it here
            _count(request, 500)
            raise
        _count(request, response.status_code)
        return response

    def _count(request: Request, status: int) -> None:
        # Labels only from closed sets (a client's made-up method must not make a series):
        # the routes the app registered, the standard methods, the status classes.
        path = getattr(request.scope.get("route"), "path", "unmatched")
        method = request.method if request.method in METHODS else "other"
        code = str(status) if 100 <= status <= 599 else "other"
        runtime.metrics.requests.labels(path, method, code).inc()

    return app


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


def begin_shutdown(app: FastAPI) -> None:
    """At SIGTERM/SIGINT, before uvicorn's graceful shutdown: uploads still arriving or
    queued get a JSON 503 now, and live streams end (each would hold the stop for its
    whole timeout)."""
    app.state.draining.begin()
    app.state.runtime.hub.close()


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` with its JavaScript and CSS from the ``swagger-ui-bundle``
    package: a device on a network without internet still gets a working page."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs/static", StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="edge-runtime API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
        )


async def _systemd(runtime: Runtime, address: tuple[str, int] | None) -> None:
    """READY=1 once warmed up; then WATCHDOG=1 from the event loop while the daemon is
    healthy and still accepts connections (a hung loop, a stuck invoke, a failed camera
    loop or running out of file descriptors stops it, and systemd restarts the daemon)."""
    while not runtime.ready:
        await asyncio.sleep(0.05)
    notify("READY=1")
    interval = watchdog_interval_s()
    next_ping = 0.0
    loop = asyncio.get_running_loop()
    accepting = True
    while True:
        if interval and loop.time() >= next_ping and runtime.healthy():
            reachable = address is None or await answers_http(*address)
            if reachable != accepting:
                accepting = reachable
                if reachable:
                    log.info("accepting connections again: watchdog resumed")
                else:
                    log.warning(
                        "cannot accept connections on port %d (out of file descriptors?): "
                        "watchdog withheld, systemd will restart the daemon",
                        address[1] if address else 0,
                    )
            if reachable:
                notify("WATCHDOG=1")
                next_ping = loop.time() + interval
        await asyncio.sleep(min(0.25, interval or 0.25))


async def answers_http(host: str, port: int, timeout_s: float = 2.0) -> bool:
    """Whether a connection to the daemon's own socket gets an HTTP answer: what a
    client needs, from accept() to the event loop."""
    probe = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(probe, port), timeout_s)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        status = await asyncio.wait_for(reader.readline(), timeout_s)
        return status.startswith(b"HTTP/1.1 200")
    except (OSError, asyncio.TimeoutError):
        return False
    finally:
        if writer is not None:
            writer.close()
