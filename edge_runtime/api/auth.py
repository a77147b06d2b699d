"""Bearer-token auth, secure by default: every route needs the token except the ones
listed in ``PUBLIC`` (liveness, readiness, and the page shell, which holds no data and
asks the browser for the token)."""

from __future__ import annotations

import hmac
import urllib.parse

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from edge_runtime.api.problems import error_response

PUBLIC = frozenset({"/healthz", "/readyz", "/"})
COOKIE = "edge_token"


def presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    cookie = request.cookies.get(COOKIE)
    return urllib.parse.unquote(cookie) if cookie else None


def authorized(request: Request, token: SecretStr | None) -> bool:
    """Whether the request carries the token (always, when none is configured)."""
    if token is None:
        return True
    given = presented_token(request)
    # compare_digest: the time taken does not depend on how much of the token matched.
    return given is not None and hmac.compare_digest(
        given.encode(), token.get_secret_value().encode()
    )


def check(request: Request, token: SecretStr | None) -> JSONResponse | None:
    """None when the request may go on; else the 401 to send. Runs as middleware, before
    routing, so every path (docs, OpenAPI, unknown ones) is covered."""
    if request.url.path in PUBLIC or authorized(request, token):
        return None
    given = presented_token(request)
    return error_response(
        401,
        "unauthorized",
        "wrong bearer token"
        if given
        else "this daemon needs a bearer token (Authorization: Bearer TOKEN)",
        {"WWW-Authenticate": 'Bearer realm="edge-runtime"'},
    )


def host_allowed(request: Request, allowed: list[str] | None, bound_to: str) -> bool:
    """The Host header names this daemon: a web page cannot reach a loopback daemon through
    a DNS name it rebinds to 127.0.0.1 (the browser sends that name as Host). Loopback
    names are always allowed; ``allowed`` adds names (``*``: any). With no list, a daemon
    bound beyond loopback answers to any name (it has a token then)."""
    from edge_runtime.settings import is_loopback

    if allowed is None and not is_loopback(bound_to):
        return True
    if allowed is not None and "*" in allowed:
        return True
    host = request.headers.get("host", "").strip().lower()
    name = host[1:].split("]")[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    return is_loopback(name) or name in {n.lower() for n in allowed or ()}
