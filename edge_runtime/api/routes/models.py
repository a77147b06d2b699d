"""GET /v1/models: what is loaded and what runs it."""

from __future__ import annotations

from fastapi import APIRouter, Request

from edge_runtime.api.runtime import Runtime

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
