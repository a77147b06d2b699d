"""The live overlay: MJPEG stream, snapshot, and the numbers the web page shows."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from edge_runtime.api.problems import ApiError
from edge_runtime.api.runtime import Runtime

router = APIRouter(tags=["stream"])
BOUNDARY = "frame"


def _needs_camera(rt: Runtime) -> None:
    if rt.frames is None:
        raise ApiError(404, "no_source", "no camera source: start the daemon with --source")


@router.get(
    "/stream.mjpg",
    summary="multipart/x-mixed-replace stream of overlay JPEGs",
    response_class=StreamingResponse,
)
async def stream(request: Request) -> StreamingResponse:
    rt: Runtime = request.app.state.runtime
    _needs_camera(rt)
    hub = rt.hub

    async def frames() -> AsyncIterator[bytes]:
        hub.clients += 1
        seen = 0
        try:
            while not hub.closed and not await request.is_disconnected():
                frame = await hub.next_frame(seen, timeout=1.0)
                if frame is None:
                    continue
                seen = frame.seq
                jpeg = await run_in_threadpool(frame.jpeg)  # made once, for every viewer
                yield (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n"
                ).encode()
                yield jpeg + b"\r\n"
        finally:
            hub.clients -= 1

    return StreamingResponse(
        frames(),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/snapshot.jpg",
    summary="The latest overlay JPEG",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def snapshot(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    _needs_camera(rt)
    latest = rt.hub.latest
    if latest is None:
        raise ApiError(503, "no_frame_yet", "no frame processed yet", {"Retry-After": "1"})
    jpeg = await run_in_threadpool(latest.jpeg)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/v1/stats", summary="Live numbers for the web page")
async def stats(request: Request) -> dict[str, object]:
    rt: Runtime = request.app.state.runtime
    spec = rt.pipeline.spec
    body: dict[str, object] = {
        "model": spec.name,
        "ready": rt.ready,
        "labels": [
            {"id": i, "name": n, "color": "#" + "".join(f"{c:02x}" for c in spec.palette[i])}
            for i, n in enumerate(spec.labels[: len(spec.palette)])
        ],
        "camera": rt.camera_state(),
        "fps": None,
        "invoke_ms": {"p50": None, "p95": None},
        "classes": [],
    }
    if rt.frames is not None:
        body["fps"] = round(rt.frames.stats.fps, 2)
        body["invoke_ms"] = rt.frames.stats.invoke_percentiles()
        latest = rt.hub.latest
        if latest is not None:
            body["classes"] = latest.summary.get("classes", [])
    return body
