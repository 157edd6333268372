"""Signing in and out: name and password, then the second factor for those who set one.

The sign-in form has its own CSRF token (a cookie and a field that must match), so no
other site can sign a browser in as someone else. Whatever went wrong, a refused sign-in
says the same thing; the lock-out is ``staff.service``'s.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.audit import service as audit
from utilipay.clock import Clock
from utilipay.console.cookies import clear_cookie, set_cookie
from utilipay.console.i18n import words
from utilipay.console.templating import render
from utilipay.console.visits import SESSION_COOKIE, Refused, SignedIn, host
from utilipay.staff import service as users
from utilipay.staff import sessions, totp
from utilipay.staff.service import SignIn

router = APIRouter()
PRE_COOKIE = "utilipay_console_pre"  # the sign-in form's CSRF token, before any session
HOME = "/console/"


def safe_next(target: str | None) -> str:
    """Only a console path of this hub: an open redirect would lend our name to phishing."""
    if target and target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return HOME


async def _record_sign_in(
    conn: AsyncConnection, clock: Clock, username: str, *, second_factor: bool
) -> None:
    await audit.record(
        conn,
        clock,
        actor=username,
        action="user.sign_in",
        object_type="staff_user",
        object_id=username,
        details={"second_factor": second_factor},
    )


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "sign_in.html", form_token=token, next=safe_next(next), failed=False)
    set_cookie(request, response, PRE_COOKIE, token)
    return response


@router.post("/sign-in")
async def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=64)],
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    expected = request.cookies.get(PRE_COOKIE, "")
    if not expected or not secrets.compare_digest(csrf_token.encode(), expected.encode()):
        raise Refused(403, words("This form has expired. Reload the page and try again."))
    hub = host(request)
    async with hub.engine.begin() as conn:
        outcome, user = await users.authenticate(conn, hub.clock, username, password)
        if outcome is SignIn.REFUSED or user is None:
            failed = render(
                request,
                "sign_in.html",
                status_code=401,
                form_token=expected,
                next=safe_next(next),
                failed=True,
            )
            return failed
        due = outcome is SignIn.SECOND_FACTOR_DUE
        token = await sessions.start(conn, hub.clock, user.id, second_factor_due=due)
        if not due:
            await _record_sign_in(conn, hub.clock, user.username, second_factor=False)
    target = "/console/second-factor?next=" + safe_next(next) if due else safe_next(next)
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, token)
    clear_cookie(request, response, PRE_COOKIE)
    return response


@router.get("/second-factor")
async def second_factor_page(request: Request, next: str | None = None) -> Response:
    return render(request, "second_factor.html", next=safe_next(next), failed=False)


@router.post("/second-factor")
async def second_factor(
    request: Request,
    code: Annotated[str, Form(max_length=12)],
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    hub = host(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    async with hub.engine.begin() as conn:
        session = await sessions.find(conn, hub.clock, token) if token else None
        if session is None or not session.second_factor_due:
            return RedirectResponse("/console/sign-in", status_code=303)
        if not await totp.check(conn, hub.clock, session.user_id, code):
            if await users.note_failed_second_factor(conn, hub.clock, session.user_id):
                await sessions.end(conn, hub.clock, session.id)
            failed = True
        else:
            failed = False
            fresh = await sessions.second_factor_passed(conn, hub.clock, session)
            user = await users.find(conn, session.user_id)
            await _record_sign_in(conn, hub.clock, user.username, second_factor=True)
    if failed:
        return render(
            request, "second_factor.html", status_code=401, next=safe_next(next), failed=True
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, fresh)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, staff: SignedIn) -> Response:
    hub = host(request)
    async with hub.engine.begin() as conn:
        await sessions.end(conn, hub.clock, request.state.session_id)
        await audit.record(
            conn,
            hub.clock,
            actor=staff.username,
            action="user.sign_out",
            object_type="staff_user",
            object_id=staff.username,
        )
    response = RedirectResponse("/console/sign-in", status_code=303)
    clear_cookie(request, response, SESSION_COOKIE)
    return response
