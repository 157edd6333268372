"""A person's own account: their password, their second factor, and signing out of every
browser at once (after a lost laptop, say)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.audit import service as audit
from utilipay.console.cookies import clear_cookie
from utilipay.console.i18n import words
from utilipay.console.templating import render
from utilipay.console.visits import SESSION_COOKIE, SignedIn, host
from utilipay.errors import DomainError
from utilipay.staff import service as users
from utilipay.staff import sessions, totp

router = APIRouter()


async def _page(
    request: Request, staff_id: int, *, status_code: int = 200, message: str = "", error: str = ""
) -> Response:
    hub = host(request)
    async with hub.engine.connect() as conn:
        user = await users.find(conn, staff_id)
    secret = "" if user.totp_enabled else totp.new_secret()
    return render(
        request,
        "me.html",
        status_code=status_code,
        user=user,
        totp_secret=secret,
        totp_uri=totp.provisioning_uri(secret, user.username) if secret else "",
        message=message,
        error=error,
    )


@router.get("/me")
async def me(request: Request, staff: SignedIn) -> Response:
    return await _page(request, staff.id)


@router.post("/me/password")
async def change_password(
    request: Request,
    staff: SignedIn,
    current: Annotated[str, Form(max_length=256)],
    new: Annotated[str, Form(max_length=256)],
    repeat: Annotated[str, Form(max_length=256)],
) -> Response:
    hub = host(request)
    if new != repeat:
        return await _page(
            request,
            staff.id,
            status_code=400,
            error=words("The new password and its repetition differ."),
        )
    try:
        async with hub.engine.begin() as conn:
            await users.change_password(conn, hub.clock, staff.id, current, new)
            await sessions.end_all(conn, hub.clock, staff.id, keep=request.state.session_id)
    except DomainError as exc:
        return await _page(request, staff.id, status_code=400, error=exc.detail)
    return await _page(
        request, staff.id, message=words("Password changed; your other sessions are signed out.")
    )


@router.post("/me/totp")
async def enable_totp(
    request: Request,
    staff: SignedIn,
    secret: Annotated[str, Form(min_length=16, max_length=64)],
    code: Annotated[str, Form(max_length=12)],
) -> Response:
    hub = host(request)
    try:
        async with hub.engine.begin() as conn:
            await totp.enable(conn, hub.clock, staff.id, secret, code)
    except DomainError as exc:
        return await _page(request, staff.id, status_code=400, error=exc.detail)
    return await _page(
        request, staff.id, message=words("Second factor on: sign-ins now ask for a code.")
    )


@router.post("/me/totp/off")
async def disable_totp(request: Request, staff: SignedIn) -> Response:
    hub = host(request)
    async with hub.engine.begin() as conn:
        await totp.disable(
            conn, hub.clock, staff.id, actor=staff.username, reason="turned off by its user"
        )
    return await _page(request, staff.id, message=words("Second factor off."))


@router.post("/me/sign-out-everywhere")
async def sign_out_everywhere(request: Request, staff: SignedIn) -> Response:
    hub = host(request)
    async with hub.engine.begin() as conn:
        ended = await sessions.end_all(conn, hub.clock, staff.id)
        await audit.record(
            conn,
            hub.clock,
            actor=staff.username,
            action="user.sign_out_all",
            object_type="staff_user",
            object_id=staff.username,
            details={"sessions": ended},
        )
    response = RedirectResponse("/console/sign-in", status_code=303)
    clear_cookie(request, response, SESSION_COOKIE)
    return response
