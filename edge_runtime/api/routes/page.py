"""GET /: the live page (one static file, no external assets)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["page"])


@cache
def _page() -> str:
    return files("edge_runtime.api").joinpath("static/index.html").read_text()


@router.get("/", response_class=HTMLResponse, summary="Live overlay, legend, fps, latency")
async def index() -> HTMLResponse:
    return HTMLResponse(_page())


# HEAD as GET, out of the OpenAPI document (it would repeat the operation id).
router.add_api_route("/", index, methods=["HEAD"], include_in_schema=False)
