"""API tokens (``/admin/v1``, ``/metrics``), for platform administrators: the live ones
(and, asked for, the revoked), making one with its scopes and expiry (the token shown
once: only its hash is kept), and revoking one with a reason. ``access.service`` as
``utilipay tokens …`` uses it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query
from starlette.requests import Request
from starlette.responses import Response

from utilipay.access import service as tokens
from utilipay.access.scopes import MEANING, Scope
from utilipay.clock import SHANGHAI
from utilipay.console.i18n import words
from utilipay.console.pages.admin_forms import PLAIN, Outcome, Reason, Shown, render_outcome
from utilipay.console.visits import host, needs
from utilipay.errors import DomainError
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
Manager = Annotated[Staff, needs(Permission.TOKENS_MANAGE)]
TokenName = Annotated[str, Form(max_length=64)]
TOKEN_SHOWN = words("The new API token")


def _end_of(day: date) -> datetime:
    """A token given a last day works until that day ends in Asia/Shanghai."""
    return datetime.combine(day + timedelta(days=1), time(0), SHANGHAI)


async def _page(request: Request, outcome: Outcome = PLAIN, revoked: bool = False) -> Response:
    hub = host(request)
    async with hub.engine.connect() as conn:
        found = await tokens.all_tokens(conn, revoked=revoked)
    return render_outcome(
        request, "tokens.html", outcome, tokens=found, revoked=revoked,
        scopes=[(s, MEANING[s]) for s in Scope],
    )  # fmt: skip


@router.get("/tokens")
async def list_tokens(
    request: Request, staff: Manager, revoked: Annotated[bool, Query()] = False
) -> Response:
    return await _page(request, revoked=revoked)


@router.post("/tokens")
async def create_token(
    request: Request,
    staff: Manager,
    name: TokenName,
    scopes: Annotated[list[str] | None, Form(max_length=len(Scope))] = None,
    last_day: Annotated[date | None, Form()] = None,
) -> Response:
    hub = host(request)
    expires_at = None if last_day is None else _end_of(last_day)
    try:
        async with hub.engine.begin() as conn:
            _, secret = await tokens.create(
                conn, hub.clock, name.strip(), scopes or [], expires_at=expires_at,
                actor=staff.username,
            )  # fmt: skip
    except DomainError as exc:
        return await _page(request, Outcome(400, error=exc.detail))
    shown = Shown(TOKEN_SHOWN, secret, "/console/tokens")
    return await _page(request, Outcome(message=words("Token made."), shown=shown))


@router.post("/tokens/revoke")
async def revoke_token(
    request: Request, staff: Manager, name: TokenName, reason: Reason
) -> Response:
    hub = host(request)
    try:
        async with hub.engine.begin() as conn:
            await tokens.revoke(conn, hub.clock, name, actor=staff.username, reason=reason.strip())
    except DomainError as exc:
        return await _page(request, Outcome(400, error=exc.detail))
    done = words("Token revoked: it is refused from now on.")
    return await _page(request, Outcome(message=done))
