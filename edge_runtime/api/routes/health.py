"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from edge_runtime.api import auth
from edge_runtime.api.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="200 once the model is loaded and warmed up (status ready, or degraded while "
    "the camera is down), else 503",
)
async def readyz(request: Request) -> JSONResponse:
    rt: Runtime = request.app.state.runtime
    status, reason = rt.status()
    camera = rt.camera_state()
    if not auth.authorized(request, rt.settings.token):
        # Public route: without the token, no source spec and no error text (either can
        # carry an address or credentials), only the states.
        if status == "degraded":
            reason = "camera down"
        if camera is not None:
            camera = {k: v for k, v in camera.items() if k not in ("source", "last_error")}
    body = {
        "ready": status != "not_ready",
        "status": status,
        "reason": reason,
        "model": rt.pipeline.spec.name,
        "camera": camera,
        "mqtt": rt.zones.mqtt.state if rt.zones is not None and rt.zones.mqtt else None,
    }
    ok = status != "not_ready"
    return JSONResponse(
        body,
        status_code=200 if ok else 503,
        headers=None if ok else {"Retry-After": "1"},
    )


# HEAD answers as GET does; kept out of the OpenAPI document, where a second operation of
# the same function would repeat its operation id.
router.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)
router.add_api_route("/readyz", readyz, methods=["HEAD"], include_in_schema=False)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    return Response(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)
