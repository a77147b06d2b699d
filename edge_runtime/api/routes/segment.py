"""POST /v1/segment."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from edge_runtime.api.errors import ApiError
from edge_runtime.api.runtime import Runtime
from edge_runtime.api.upload import read_image
from edge_runtime.encode import encode_png
from edge_runtime.pipeline import StageTimings

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
    format: Annotated[Literal["json", "mask", "overlay"], Query()] = "json",
    alpha: Annotated[float, Query(ge=0.0, le=1.0)] = 0.5,
    include_mask: Annotated[bool, Query()] = False,
) -> Response:
    rt: Runtime = request.app.state.runtime
    if not rt.ready:
        raise ApiError(503, "not_ready", rt.not_ready_reason, {"Retry-After": "1"})
    async with request.app.state.admission.slot():
        data = await read_image(request, rt.settings.max_upload_bytes)
        frames = rt.frames
        if frames is not None:
            frames.upload_started()
        try:
            seg = await run_in_threadpool(
                rt.pipeline.segment, data, full_resolution=format == "overlay"
            )
        finally:
            if frames is not None:
                frames.upload_finished()
        encoded = await run_in_threadpool(rt.pipeline.encode, seg, format, alpha=alpha)
    seg = encoded.segmentation
    rt.metrics.observe(seg.timings, "upload")
    headers = {"Server-Timing": server_timing(seg.timings)}
    if format == "json":
        doc = seg.summary()
        if include_mask:
            doc["mask_png_base64"] = base64.b64encode(encode_png(seg.label_image)).decode()
        return JSONResponse(doc, headers=headers)
    return Response(encoded.data, media_type=encoded.content_type, headers=headers)
