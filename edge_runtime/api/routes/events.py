"""GET /v1/zones, /v1/events and each event's snapshot."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from edge_runtime.api.problems import ApiError, refuse_repeated_parameters
from edge_runtime.api.runtime import Runtime
from edge_runtime.api.zone_watch import ZoneWatch
from edge_runtime.events import EVENT_ID

router = APIRouter(tags=["zones and events"])
EventId = Annotated[str, Path(pattern=EVENT_ID.pattern)]


def _watch(request: Request) -> ZoneWatch:
    rt: Runtime = request.app.state.runtime
    if rt.zones is None:
        raise ApiError(404, "no_zones", "no zones configured (the zones setting)")
    return rt.zones


@router.get("/v1/zones", summary="The zones and each watched class's share of the last frame")
async def zones(request: Request) -> dict[str, object]:
    return {"zones": _watch(request).snapshot()}


@router.get("/v1/events", summary="Zone events, newest first")
async def events(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    before: Annotated[str | None, Query(pattern=EVENT_ID.pattern)] = None,
) -> dict[str, object]:
    refuse_repeated_parameters(request)
    page = _watch(request).store.page(limit + 1, before)
    more = len(page) > limit
    page = page[:limit]
    return {
        "events": [e.as_dict() for e in page],
        "next": page[-1].id if more and page else None,
    }


@router.get(
    "/v1/events/{event_id}/snapshot.jpg",
    summary="The overlay at the event's start",
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "no such event"}},
)
async def snapshot(request: Request, event_id: EventId) -> Response:
    # Read whole under the store's lock: the pruner can delete it the next moment.
    data = _watch(request).store.snapshot(event_id)
    if data is None:
        raise ApiError(404, "not_found", f"no snapshot for event {event_id}")
    return Response(data, media_type="image/jpeg")
