"""The console's cookies: HttpOnly, SameSite=Lax, path /console, Secure when the hub is
reached over TLS (directly or, with ``--proxy-headers``, through a proxy that says so)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

PATH = "/console"


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path=PATH, httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )
