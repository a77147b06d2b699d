"""Reading an upload: raw bodies, multipart, the byte limit while streaming, clear refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest
from starlette.requests import Request

from edge_runtime.api.problems import ApiError
from edge_runtime.api.upload import read_image

JPEG = b"\xff\xd8\xff\xe0" + b"x" * 1000


def request(body_chunks: Iterable[bytes], content_type: str, length: int | None = None) -> Request:
    chunks = list(body_chunks)
    headers = [(b"content-type", content_type.encode())]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    pending = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    pending.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> dict[str, object]:
        return pending.pop(0)

    scope = {"type": "http", "method": "POST", "path": "/v1/segment", "headers": headers}
    return Request(scope, receive)


def multipart(*fields: tuple[str, bytes], boundary: str = "XyZ", close: bool = True) -> bytes:
    parts = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="a.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, data in fields
    )
    return parts + (f"--{boundary}--\r\n".encode() if close else b"")


def read(req: Request, limit: int = 10_000) -> bytes:
    return asyncio.run(read_image(req, limit))


def refusal(req: Request, limit: int = 10_000) -> ApiError:
    with pytest.raises(ApiError) as exc:
        read(req, limit)
    return exc.value


def test_a_raw_body_streamed_in_chunks() -> None:
    assert read(request([JPEG[:10], JPEG[10:]], "image/jpeg")) == JPEG
    assert read(request([JPEG], "application/octet-stream")) == JPEG


def test_the_multipart_field_image() -> None:
    ctype = "multipart/form-data; boundary=XyZ"
    assert read(request([multipart(("image", JPEG))], ctype)) == JPEG
    quoted = 'multipart/form-data; boundary="XyZ"'
    assert read(request([multipart(("image", JPEG))], quoted)) == JPEG


def test_limits_are_enforced_before_and_while_the_body_streams() -> None:
    declared = refusal(request([JPEG], "image/jpeg", length=20_000))
    assert (declared.status, declared.code) == (413, "body_too_large")
    assert "20000 bytes, over the 10000 limit" in str(declared.detail)
    streamed = refusal(request([JPEG] * 11, "image/jpeg"))  # no Content-Length: counted
    assert (streamed.status, streamed.code) == (413, "body_too_large")


@pytest.mark.parametrize(
    ("body", "ctype", "status", "code", "says"),
    [
        (multipart(("image", JPEG), close=False), "multipart/form-data; boundary=XyZ", 400,
         "bad_multipart", "no closing boundary"),
        (multipart(("image", JPEG), ("image", JPEG)), "multipart/form-data; boundary=XyZ", 400,
         "bad_multipart", "2 'image' fields"),
        (multipart(("photo", JPEG)), "multipart/form-data; boundary=XyZ", 422,
         "missing_image", "no file field named 'image'"),
        (JPEG, "text/plain", 415, "unsupported_media_type", "Content-Type text/plain"),
        (JPEG, "", 415, "unsupported_media_type", "Content-Type missing"),
    ],
)  # fmt: skip
def test_bad_uploads_are_refused_with_a_reason(
    body: bytes, ctype: str, status: int, code: str, says: str
) -> None:
    err = refusal(request([body], ctype))
    assert (err.status, err.code) == (status, code) and says in str(err.detail)
