"""Putting the console on the hub's app: its routes under ``/console``, its static files
(served by the hub, no CDN), and its refusals as pages rather than problem+json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.console.i18n import words
from utilipay.console.pages import (
    accounts,
    audit,
    billers,
    billing,
    channels,
    dashboard,
    exceptions,
    home,
    imports,
    jobs,
    late_fees,
    lookup,
    me,
    meter_commands,
    outlets,
    payments,
    recon,
    reminders,
    reports,
    settlement,
    signin,
    tokens,
    users,
    warnings,
)
from utilipay.console.templating import render
from utilipay.console.visits import Refused, SignInNeeded
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.json import describe

PREFIX = "/console"
PAGES: tuple[APIRouter, ...] = (
    signin.router,
    home.router,
    me.router,
    audit.router,
    jobs.router,
    dashboard.router,
    billers.router,
    channels.router,
    users.router,
    tokens.router,
    payments.router,
    exceptions.router,
    recon.router,
    settlement.router,
    meter_commands.router,
    accounts.router,
    lookup.router,
    imports.router,
    billing.router,
    outlets.router,
    reminders.router,
    reports.router,
    warnings.router,
    late_fees.router,
)
_STATUS = {ErrorCode.NOT_FOUND: 404, ErrorCode.FORBIDDEN: 403, ErrorCode.UNAUTHENTICATED: 401}

Handler = Callable[[Request, Exception], Awaitable[Response]]


def _to_sign_in(request: Request, exc: SignInNeeded) -> Response:
    page = "second-factor" if exc.second_factor else "sign-in"
    target = f"{PREFIX}/{page}?next={quote(request.url.path)}"
    if request.headers.get("HX-Request"):  # htmx follows this header, not a 303
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _refusal_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status_code=status, status=status, message=message)


def _message(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, DomainError):
        return _STATUS.get(exc.code, 400), exc.detail
    if isinstance(exc, HTTPException):
        return exc.status_code, words("No such page.") if exc.status_code == 404 else str(
            exc.detail
        )
    if isinstance(exc, RequestValidationError):
        return 400, describe(exc.errors())
    return 500, words("Something went wrong; it is logged. Try again, or tell the platform team.")


def mount_console(app: FastAPI, api_handlers: dict[type[Exception], Handler]) -> None:
    """Add the console to ``app``. ``api_handlers`` answer outside the console as before;
    inside it, their errors become pages."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    for page in PAGES:
        router.include_router(page)
    app.include_router(router)
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(packages=[("utilipay.console", "static")]),
        name="console-static",
    )

    async def sign_in_needed(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, SignInNeeded):
            raise exc
        return _to_sign_in(request, exc)

    async def refused(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, Refused):
            raise exc
        return _refusal_page(request, exc.status, exc.message)

    app.add_exception_handler(SignInNeeded, sign_in_needed)
    app.add_exception_handler(Refused, refused)
    for kind, handler in api_handlers.items():
        app.add_exception_handler(kind, _console_aware(handler))


def _console_aware(api_handler: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith(PREFIX):
            return await api_handler(request, exc)
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return await api_handler(request, exc)
        status, message = _message(exc)
        if status >= 500:
            await api_handler(request, exc)  # it logs the failure; the person gets a page
        return _refusal_page(request, status, message)

    return handle
