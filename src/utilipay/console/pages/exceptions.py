"""The exceptions queue: what the hub leaves for people (reversals that could not
complete, reconciliation breaks), oldest first with its evidence, and resolving an item
as the admin API does (the same service, audited, a reason required). Auditors see the
queue; only operations resolve."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.billers import repository as billers
from utilipay.console.i18n import words
from utilipay.console.templating import render
from utilipay.console.visits import host, needs
from utilipay.errors import DomainError, ErrorCode
from utilipay.payments import exceptions
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
Field = Annotated[str, Form(max_length=500)]


def _age(waited: timedelta) -> dict[str, int]:
    return {"days": waited.days, "hours": waited.seconds // 3600}


async def _queue(
    request: Request, staff: Staff, kind: str, *, status_code: int = 200, error: str = "",
    failed: int | None = None, done: str = "",
) -> Response:  # fmt: skip
    hub = host(request)
    if kind and kind not in set(exceptions.Kind):
        kind, error, status_code = "", words("No such kind."), 400
    async with hub.engine.connect() as conn:
        found = await exceptions.list_open(conn, exceptions.Kind(kind) if kind else None)
        codes = {b.id: b.code for b in await billers.all_billers(conn)}
    shown = [e for e in found if staff.billers is None or staff.may_see(e.biller_id)]
    now = hub.clock.now()
    return render(
        request, "exceptions.html", status_code=status_code, items=shown, kind=kind,
        codes=codes, ages={e.id: _age(now - e.opened_at) for e in shown},
        kinds=list(exceptions.Kind), may_resolve=staff.may(Permission.EXCEPTIONS_RESOLVE),
        error=error, failed=failed, done=done,
    )  # fmt: skip


@router.get("/exceptions")
async def queue(
    request: Request,
    staff: Annotated[Staff, needs(Permission.EXCEPTIONS_READ)],
    kind: Annotated[str, Query(max_length=40)] = "",
    done: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    return await _queue(request, staff, kind, done=done)


@router.post("/exceptions/{exception_id}/resolve")
async def resolve(
    request: Request,
    staff: Annotated[Staff, needs(Permission.EXCEPTIONS_RESOLVE)],
    exception_id: Annotated[int, Path(ge=1)],
    outcome: Field = "",
    reason: Field = "",
    biller_serial: Annotated[str, Form(max_length=64)] = "",
    reference: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    hub = host(request)
    try:
        if outcome not in set(exceptions.Resolution):
            raise DomainError(ErrorCode.MALFORMED_REQUEST, words("Choose an outcome."))
        if not reason.strip():
            raise DomainError(ErrorCode.MALFORMED_REQUEST, words("Say why: a reason is required."))
        async with hub.engine.begin() as conn:
            await exceptions.resolve(
                conn, hub.clock, exception_id, exceptions.Resolution(outcome),
                actor=staff.username, reason=reason.strip(),
                biller_serial=biller_serial.strip() or None, reference=reference.strip() or None,
            )  # fmt: skip
    except DomainError as exc:
        status = 404 if exc.code is ErrorCode.NOT_FOUND else 400
        return await _queue(request, staff, "", status_code=status, error=exc.detail,
                            failed=exception_id)  # fmt: skip
    return RedirectResponse(f"/console/exceptions?done={exception_id}", status_code=303)
