"""GET /v1/models: what is loaded and what runs it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from edge_runtime.api.problems import ApiError
from edge_runtime.api.runtime import Runtime
from edge_runtime.errors import EdgeRuntimeError

router = APIRouter(tags=["models"])


@router.get("/v1/models", summary="The loaded model, its manifest and delegate")
async def models(request: Request) -> dict[str, object]:
    rt: Runtime = request.app.state.runtime
    pipe = rt.pipeline
    spec, engine = pipe.spec, pipe.engine
    delegate = engine.delegate
    return {
        "name": spec.name,
        "path": str(engine.model_path),
        "labels": list(spec.labels),
        "palette": [list(c) for c in spec.palette],
        "input": spec.input.model_dump(),
        "output": {"kind": spec.output_kind, "tensor": engine.output.describe()},
        "manifest": spec.manifest.model_dump(mode="json", exclude_none=True)
        if spec.manifest
        else None,
        "delegate": {
            "kind": delegate.kind,
            "num_threads": delegate.num_threads,
            "runtime": delegate.runtime,
            "fell_back": delegate.fell_back,
            "fallback_reason": delegate.fallback_reason,
            "description": delegate.describe(),
        },
    }


@router.post(
    "/v1/models/reload",
    summary="Reload the model from disk (also on SIGHUP)",
    description="Loads the configured model file again beside the running one, verifies "
    "and warms it up, then swaps atomically. On any failure the old model keeps serving "
    "and the answer is 422 with the reason.",
)
async def reload(request: Request) -> dict[str, object]:
    rt: Runtime = request.app.state.runtime
    try:
        fresh = await run_in_threadpool(rt.reload)
    except (EdgeRuntimeError, ValueError, OSError) as exc:
        raise ApiError(422, "reload_failed", f"{exc}; the previous model keeps serving") from exc
    manifest = fresh.spec.manifest
    return {
        "reloaded": True,
        "name": fresh.spec.name,
        "version": manifest.version if manifest else None,
        "sha256": manifest.sha256 if manifest else None,
    }
