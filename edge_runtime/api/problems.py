"""Every failure as a JSON body ``{"error": code, "detail": message}`` with a 4xx status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from edge_runtime.errors import (
    CorruptImageError,
    EdgeRuntimeError,
    ImageTooLargeError,
    UnsupportedImageError,
)

log = logging.getLogger("edge_runtime")


class ApiError(EdgeRuntimeError):
    """A request the API refuses: its status, a stable code and a detail for the client."""

    def __init__(
        self, status: int, code: str, detail: object, headers: dict[str, str] | None = None
    ):
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers


def error_response(
    status: int, code: str, detail: object, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


IMAGE_ERRORS: dict[type[Exception], tuple[int, str]] = {
    UnsupportedImageError: (415, "unsupported_image"),
    CorruptImageError: (400, "corrupt_image"),
    ImageTooLargeError: (413, "image_too_large"),
}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.detail, exc.headers)

    for cls, (status, code) in IMAGE_ERRORS.items():

        async def _image(
            _: Request, exc: Exception, status: int = status, code: str = code
        ) -> JSONResponse:
            return error_response(status, code, str(exc))

        app.add_exception_handler(cls, _image)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "parameter": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]),
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        return error_response(422, "invalid_parameter", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, exc.detail)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> Response:
        # The client went away mid-upload: nothing to answer, nothing wrong here.
        log.debug("client disconnected during %s %s", request.method, request.url.path)
        request.app.state.runtime.metrics.uploads_aborted.inc()
        return Response(status_code=499)  # nginx's "client closed request"; never sent

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not bad input: log it whole, answer without internals.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal error (logged)")


def refuse_repeated_parameters(request: Request) -> None:
    """A query parameter given twice is a 422: last-one-wins would silently ignore what
    the client meant."""
    keys = [k for k, _ in request.query_params.multi_items()]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ApiError(
            422,
            "invalid_parameter",
            [{"parameter": k, "message": "given more than once"} for k in repeated],
        )
