"""POST /v1/segment."""

from __future__ import annotations

import asyncio
import base64
import time
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from edge_runtime.api.draining import Draining
from edge_runtime.api.problems import ApiError, refuse_repeated_parameters
from edge_runtime.api.runtime import Runtime
from edge_runtime.api.upload import read_image
from edge_runtime.contours import ClassPolygons, class_polygons
from edge_runtime.encode import OVERLAY_ALPHA, encode_png
from edge_runtime.imaging import peek_pixels
from edge_runtime.pipeline import SEGMENT_ONLY, Format
from edge_runtime.results import Segmentation, StageTimings

router = APIRouter(tags=["segmentation"])


def server_timing(t: StageTimings) -> str:
    return ", ".join(f"{stage};dur={ms:.2f}" for stage, ms in t.as_dict().items())


@router.post(
    "/v1/segment",
    summary="Segment one image",
    description=(
        "The image as the multipart field `image`, or as the raw body with an image "
        "Content-Type. `format=json` (default): present classes and timings; `mask`: 8-bit "
        "palette PNG whose pixel values are class ids, at the image's resolution; "
        "`overlay`: JPEG with the colour mask blended in."
    ),
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}}},
        400: {"description": "corrupt image"},
        413: {"description": "too large"},
        415: {"description": "not an image"},
        422: {"description": "bad parameter"},
        503: {"description": "not ready"},
    },
)
async def segment(
    request: Request,
    format: Annotated[Format, Query()] = "json",
    alpha: Annotated[float, Query(ge=0.0, le=1.0)] = OVERLAY_ALPHA,
    include_mask: Annotated[bool, Query()] = False,
    contours: Annotated[bool, Query()] = False,
) -> Response:
    rt: Runtime = request.app.state.runtime
    refuse_repeated_parameters(request)
    if contours and format != "json":
        raise ApiError(
            422,
            "invalid_parameter",
            [{"parameter": "contours", "message": "polygons come with format=json"}],
        )
    if not rt.ready:
        raise ApiError(503, "not_ready", rt.not_ready_reason, {"Retry-After": "1"})
    # The body is read (size-checked, under a deadline) before an inference slot is taken:
    # a client sending slowly holds only its own connection, never a slot.
    draining: Draining = request.app.state.draining
    try:
        with rt.metrics.uploads_receiving.track_inprogress():
            data = await draining.until_signal(
                asyncio.wait_for(
                    read_image(request, rt.settings.max_upload_bytes),
                    rt.settings.request_timeout_s,
                )
            )
    except asyncio.TimeoutError as exc:
        raise ApiError(
            408,
            "body_timeout",
            f"the upload did not arrive within {rt.settings.request_timeout_s:g} s",
        ) from exc
    async with request.app.state.admission.slot(peek_pixels(data)):
        frames = rt.frames
        if frames is not None:
            frames.upload_started()
        try:
            keep = rt.settings.max_overlay_pixels if format == "overlay" else SEGMENT_ONLY
            seg = await draining.until_deadline(
                run_in_threadpool(rt.pipeline.segment, data, keep_pixels=keep)
            )
            # Polygons inside the slot (and the large-image token): their memory grows
            # with the image, so they are bounded like inference (max_inflight at once).
            polygons = (
                await draining.until_deadline(run_in_threadpool(_traced, seg)) if contours else None
            )
        finally:
            if frames is not None:
                frames.upload_finished()
    # Encoding (and the summary, and a base64 PNG for include_mask) is CPU work: off the
    # event loop, so streams and watchdog pings never wait on it.
    return await draining.until_deadline(
        run_in_threadpool(
            partial(_respond, include_mask=include_mask, polygons=polygons),
            rt,
            seg,
            format,
            alpha,
        )
    )


def _traced(seg: Segmentation) -> tuple[list[ClassPolygons], float]:
    t0 = time.perf_counter()
    polygons = class_polygons(seg.label_map, seg.labels)
    return polygons, (time.perf_counter() - t0) * 1e3


def _respond(
    rt: Runtime,
    seg: Segmentation,
    fmt: Format,
    alpha: float,
    *,
    include_mask: bool,
    polygons: tuple[list[ClassPolygons], float] | None,
) -> Response:
    encoded = rt.pipeline.encode(
        seg,
        fmt,
        alpha=alpha,
        max_overlay_pixels=rt.settings.max_overlay_pixels,
        jpeg_quality=rt.settings.jpeg_quality,
    )
    seg = encoded.segmentation
    rt.metrics.observe(seg.timings, "upload")
    timing = server_timing(seg.timings)
    if polygons is not None:
        timing += f", contours;dur={polygons[1]:.2f}"
    headers = {"Server-Timing": timing}
    if encoded.reduced:  # say so: the picture is smaller than the upload (the mask never is)
        headers["X-Overlay-Reduced-From"] = f"{seg.width}x{seg.height}"
    if fmt == "json":
        doc = seg.summary()
        if include_mask:
            doc["mask_png_base64"] = base64.b64encode(encode_png(seg.label_image)).decode()
        if polygons is not None:
            doc["contours"] = polygons[0]
        return JSONResponse(doc, headers=headers)
    return Response(encoded.data, media_type=encoded.content_type, headers=headers)
