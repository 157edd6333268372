"""``GET /admin/v1/audit`` (scope ``ops:read``): the audit log, newest first, a page at a
time; ``next_cursor`` (null on the last page) is passed back as ``cursor`` for the next.

Filters: ``actor``, ``object`` (``TYPE`` or ``TYPE:ID``, e.g. ``biller:BJWATER``),
``since`` (a date, from 00:00 in Shanghai, or an instant with its offset), ``limit``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from utilipay.access.auth import OpsReader
from utilipay.audit.queries import MAX_PAGE, audit_filter, entries
from utilipay.http.docs import ADMIN_PROBLEMS
from utilipay.http.host import Host
from utilipay.http.inputs import text_query
from utilipay.http.json import json_response

router = APIRouter(prefix="/admin/v1", tags=["admin"])


@router.get("/audit", responses=ADMIN_PROBLEMS)
async def read_audit_log(
    request: Request,
    _: OpsReader,
    actor: Annotated[str | None, text_query(200)] = None,
    object_ref: Annotated[str | None, text_query(200, alias="object")] = None,
    since: Annotated[str | None, text_query(40)] = None,
    cursor: Annotated[str | None, text_query(200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Response:
    wanted = audit_filter(actor, object_ref, since)
    hub: Host = request.app.state.hub
    async with hub.engine.connect() as conn:
        page = await entries(conn, wanted, cursor=cursor, limit=limit)
    return json_response({"entries": page.entries, "next_cursor": page.next_cursor})
