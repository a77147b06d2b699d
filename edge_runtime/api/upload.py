"""Reading an uploaded image: the raw body with an image Content-Type, or the multipart
field ``image``; the byte limit is enforced while the body streams in."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from edge_runtime.api.problems import ApiError


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body_too_large", f"body is {declared} bytes, over the {limit} limit")
    chunks, size = [], 0
    async for chunk in request.stream():  # ClientDisconnect: problems.install handles it
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"body is over the {limit} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _boundary(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            return value.strip('"') or None
    return None


async def read_image(request: Request, limit: int) -> bytes:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        body = await read_body(request, limit)
        boundary = _boundary(request.headers.get("content-type", ""))
        if boundary and f"--{boundary}--".encode() not in body[-len(boundary) - 16 :]:
            # Starlette's parser accepts a body cut before its end; say what is wrong.
            raise ApiError(400, "bad_multipart", "multipart body has no closing boundary")

        async def once() -> AsyncGenerator[bytes, None]:
            yield body

        try:
            form = await MultiPartParser(request.headers, once(), max_part_size=limit).parse()
        except MultiPartException as exc:
            raise ApiError(400, "bad_multipart", str(exc)) from exc
        try:  # refused or not, the parts' temporary files are closed
            parts = form.getlist("image")
            if len(parts) > 1:
                raise ApiError(400, "bad_multipart", f"{len(parts)} 'image' fields: send one")
            part = parts[0] if parts else None
            if not isinstance(part, UploadFile):
                raise ApiError(
                    422, "missing_image", "multipart body has no file field named 'image'"
                )
            return await part.read()
        finally:
            await form.close()
    if ctype.startswith("image/") or ctype == "application/octet-stream":
        return await read_body(request, limit)
    raise ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type {ctype or 'missing'}: send the image as the multipart field 'image' "
        "or as the raw body with an image/* Content-Type",
    )
