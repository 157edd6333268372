"""Putting the payer pages on the hub's app: their routes under ``/h5``, their static files
(served by the hub, no CDN; htmx is the console's vendored copy), and their refusals as
pages with the pages' own headers rather than problem+json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from utilipay.console.i18n import words
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5.pages import (
    accounts,
    autopay,
    autopay_mandates,
    history,
    launch,
    pay,
    prepaid,
    smart_signup,
    verify,
)
from utilipay.h5.problems import said
from utilipay.h5.templating import BASE_HEADERS, render
from utilipay.h5.visits import Refused
from utilipay.http.json import describe
from utilipay.http.problems import status_of

PREFIX = "/h5"
PAGES: tuple[APIRouter, ...] = (
    launch.router,
    accounts.router,
    verify.router,
    pay.router,
    history.router,
    prepaid.router,
    autopay.router,
    autopay_mandates.router,
    smart_signup.router,
)

Handler = Callable[[Request, Exception], Awaitable[Response]]


class _Static(StaticFiles):
    """The pages' scripts and styles, with the same no-sniff and no-referrer headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update({k: v for k, v in BASE_HEADERS.items() if k != "Cache-Control"})
        return response


def _message(request: Request, exc: Exception) -> tuple[int, str]:
    if isinstance(exc, Refused):
        return exc.status, exc.message
    if isinstance(exc, DomainError):
        # the API's status; another's object is as if it did not exist, never "not yours"
        status = 404 if exc.code is ErrorCode.FORBIDDEN else status_of(exc.code)
        return status, words("This was not found.") if status == 404 else said(request, exc)
    if isinstance(exc, HTTPException):
        return exc.status_code, words("This was not found.") if exc.status_code == 404 else str(
            exc.detail
        )
    if isinstance(exc, RequestValidationError):
        return 400, describe(exc.errors())
    return 500, words("Something went wrong on our side. Please try again later.")


def mount_h5(
    app: FastAPI, api_handlers: dict[type[Exception], Handler]
) -> dict[type[Exception], Handler]:
    """Add the payer pages to ``app``; the handlers returned answer as ``api_handlers``
    outside ``/h5`` and with a page inside it."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    for page in PAGES:
        router.include_router(page)
    app.include_router(router)
    app.mount(
        f"{PREFIX}/static",
        _Static(packages=[("utilipay.h5", "static"), ("utilipay.console", "static")]),
        name="h5-static",
    )

    async def refused(request: Request, exc: Exception) -> Response:
        status, message = _message(request, exc)
        return render(request, "refused.html", status_code=status, message=message)

    app.add_exception_handler(Refused, refused)
    return {kind: _h5_aware(handler) for kind, handler in api_handlers.items()}


def _h5_aware(api_handler: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith(f"{PREFIX}/") and request.url.path != PREFIX:
            return await api_handler(request, exc)
        status, message = _message(request, exc)
        if status >= 500:
            await api_handler(request, exc)  # it logs the failure; the payer gets a page
        return render(request, "refused.html", status_code=status, message=message)

    return handle
