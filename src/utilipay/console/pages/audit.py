"""The audit log: who did what, when, why, before and after; filtered by person, object
and dates, newest first, a page at a time (the reader of ``audit.queries``, as the API's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from utilipay.audit import queries
from utilipay.console.templating import render
from utilipay.console.visits import host, needs
from utilipay.errors import DomainError
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
PAGE = 50
Text = Annotated[str, Query(max_length=200)]


@router.get("/audit")
async def audit_log(
    request: Request,
    staff: Annotated[Staff, needs(Permission.AUDIT_READ)],
    actor: Text = "",
    object: Text = "",
    since: Text = "",
    until: Text = "",
    cursor: Text = "",
) -> Response:
    hub = host(request)
    error = ""
    page = queries.Page([], None)
    try:
        wanted = queries.audit_filter(actor or None, object or None, since or None, until or None)
        async with hub.engine.connect() as conn:
            page = await queries.entries(conn, wanted, cursor=cursor or None, limit=PAGE)
    except DomainError as exc:
        error = exc.detail
    filters = {"actor": actor, "object": object, "since": since, "until": until}
    return render(request, "audit.html", page=page, filters=filters, error=error)
