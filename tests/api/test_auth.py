"""Bearer-token checks and the Host allow-list, on real Starlette requests."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr
from starlette.requests import Request

from edge_runtime.api.auth import COOKIE, authorized, check, host_allowed, presented_token

TOKEN = SecretStr("s3cret-token")


def request(path: str = "/v1/segment", **headers: str) -> Request:
    raw = [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": path, "headers": raw})


@pytest.mark.parametrize(
    ("headers", "given"),
    [
        ({"authorization": "Bearer s3cret-token"}, "s3cret-token"),
        ({"authorization": "bearer   s3cret-token "}, "s3cret-token"),
        ({"authorization": "Basic czNjcmV0"}, None),
        ({"authorization": "Bearer"}, None),
        ({"cookie": f"{COOKIE}=s3cret%2Dtoken"}, "s3cret-token"),
        ({}, None),
    ],
)
def test_the_token_comes_from_the_header_or_the_cookie(
    headers: dict[str, str], given: str | None
) -> None:
    assert presented_token(request(**headers)) == given


def test_only_the_exact_token_is_authorized() -> None:
    assert authorized(request(authorization="Bearer s3cret-token"), TOKEN)
    assert not authorized(request(authorization="Bearer s3cret-toke"), TOKEN)
    assert not authorized(request(authorization="Bearer s3cret-token2"), TOKEN)
    assert not authorized(request(), TOKEN)
    assert authorized(request(), None)  # no token configured (loopback or --insecure-no-auth)


def test_check_lets_public_paths_through_and_explains_a_401() -> None:
    for path in ("/healthz", "/readyz", "/"):
        assert check(request(path), TOKEN) is None
    missing = check(request("/docs"), TOKEN)
    wrong = check(request("/metrics", authorization="Bearer nope"), TOKEN)
    assert missing is not None and wrong is not None
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="edge-runtime"'
    assert "needs a bearer token" in json.loads(bytes(missing.body))["detail"]
    assert json.loads(bytes(wrong.body))["detail"] == "wrong bearer token"


@pytest.mark.parametrize(
    ("host", "allowed", "bound", "ok"),
    [
        ("127.0.0.1:8080", None, "127.0.0.1", True),
        ("localhost:8080", None, "127.0.0.1", True),
        ("[::1]:8080", None, "::1", True),
        ("rebind.attacker.example:8080", None, "127.0.0.1", False),  # DNS rebinding
        ("camera.lan:8080", ["camera.lan"], "127.0.0.1", True),
        ("CAMERA.LAN", ["camera.lan"], "0.0.0.0", True),
        ("other.lan", ["camera.lan"], "0.0.0.0", False),
        ("anything.example", None, "0.0.0.0", True),  # beyond loopback it has a token
        ("anything.example", ["*"], "127.0.0.1", True),
    ],
)
def test_host_allow_list(host: str, allowed: list[str] | None, bound: str, ok: bool) -> None:
    assert host_allowed(request(host=host), allowed, bound) is ok
