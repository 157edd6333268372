"""Settlement (清分结算): each payee's settlement of a day with its lines and payout, its
files (the export of ``utilipay settle export``), and the payout account changed with
four eyes. Utility staff see only the settlements paid to their utility."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.billers import repository as billers
from utilipay.clock import business_date
from utilipay.console.i18n import words
from utilipay.console.templating import render
from utilipay.console.visits import check_scope, host, needs, refuse
from utilipay.errors import DomainError, ErrorCode
from utilipay.settlement import account_changes, files, service
from utilipay.settlement import repository as settlement_repo
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
Field = Annotated[str, Form(max_length=500)]
Reader = Annotated[Staff, needs(Permission.SETTLEMENT_READ)]
FORMATS = {"csv": "text/csv; charset=utf-8", "xml": "application/xml"}


def _day(text: str, default: date | None = None) -> date:
    if not text and default is not None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, words("A date is YYYY-MM-DD.")) from None


async def _payee_id(request: Request, code: str) -> int:
    hub = host(request)
    async with hub.engine.connect() as conn:
        found = await billers.by_code(conn, code)
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no biller {code}")
    return found.id


@router.get("/settlement")
async def settlements(
    request: Request, staff: Reader, day: Annotated[str, Query(max_length=10)] = ""
) -> Response:
    hub = host(request)
    wanted = _day(day, business_date(hub.clock.now()) - timedelta(days=1))
    async with hub.engine.connect() as conn:
        ids = {b.code: b.id for b in await billers.all_billers(conn)}
        found = [s for s in await service.show_day(conn, wanted)
                 if staff.may_see(ids[s["payee"]])]  # fmt: skip
        waiting = await account_changes.pending(conn, staff.billers)
    return render(request, "settlement.html", day=wanted, settlements=found, waiting=waiting)


async def _checked_payee(request: Request, staff: Staff, payee: str) -> int:
    """The payee's id, once the person may see it (403, audited, if not)."""
    payee_id = await _payee_id(request, payee)
    await check_scope(request, staff, payee_id, f"settlement {payee}")
    return payee_id


@router.get("/settlement/{payee}/{day}")
async def one_settlement(request: Request, staff: Reader, payee: str, day: str) -> Response:
    return await _settlement_page(request, staff, payee, day)


async def _settlement_page(
    request: Request, staff: Staff, payee: str, day: str, error: str = ""
) -> Response:
    payee_id = await _checked_payee(request, staff, payee)
    async with host(request).engine.connect() as conn:
        found = await service.one_settlement(conn, _day(day), payee)
        account = (await settlement_repo.pay_to(conn)).get(payee_id)
        waiting = await account_changes.pending(conn, frozenset({payee_id}))
    return render(request, "settlement_day.html", status_code=400 if error else 200, s=found,
                  account=account, waiting=waiting, error=error)  # fmt: skip


@router.get("/settlement/{payee}/{day}/file.{kind}")
async def settlement_file(
    request: Request, staff: Reader, payee: str, day: str, kind: str
) -> Response:
    """The payee's file of the day, as ``utilipay settle export`` writes it."""
    if kind not in FORMATS:
        raise DomainError(ErrorCode.NOT_FOUND, words("No such page."))
    await _checked_payee(request, staff, payee)
    async with host(request).engine.connect() as conn:
        found = await service.one_settlement(conn, _day(day), payee)
    body = (
        files.to_csv(found) if kind == "csv" else files.to_camt054(found, host(request).clock.now())
    )
    name = f"settlement-{payee}-{found['date']}.{kind}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=FORMATS[kind], headers=disposition)


@router.post("/settlement/{payee}/{day}/account")
async def ask_account_change(
    request: Request,
    staff: Annotated[Staff, needs(Permission.PAYOUT_ACCOUNT_CHANGE)],
    payee: str,
    day: str,
    account_no: Field = "",
    account_name: Field = "",
    bank: Field = "",
    reason: Field = "",
) -> Response:
    """Ask for the payee's payout account to change: applied when a second person approves."""
    await _checked_payee(request, staff, payee)
    hub = host(request)
    back = f"/console/settlement/{payee}/{day}"
    try:
        async with hub.engine.begin() as conn:
            await account_changes.ask(
                conn, hub.clock, payee, account_no=account_no.strip().upper(),
                account_name=account_name, bank=bank, reason=reason,
                requester_id=staff.id, requester=staff.username,
            )  # fmt: skip
    except DomainError as exc:
        return await _settlement_page(request, staff, payee, day, error=exc.detail)
    return RedirectResponse(back, status_code=303)


@router.post("/settlement/approvals/{approval_id}")
async def decide_account_change(
    request: Request,
    staff: Annotated[Staff, needs(Permission.PAYOUT_ACCOUNT_APPROVE)],
    approval_id: int,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
) -> Response:
    """A second person approves (the change is applied now) or rejects; the asker can only
    withdraw: the service refuses their approval, and so does the database."""
    hub = host(request)
    async with hub.engine.connect() as conn:
        asked = await account_changes.find(conn, approval_id)
    await check_scope(request, staff, asked.biller_id, f"approval {approval_id}")
    try:
        async with hub.engine.begin() as conn:
            await account_changes.decide(
                conn, hub.clock, approval_id, approve=decision == "approve",
                decider_id=staff.id, decider=staff.username,
            )  # fmt: skip
    except DomainError as exc:
        if exc.code is not ErrorCode.FORBIDDEN:
            raise
        raise await refuse(request, staff, exc.detail) from None
    return RedirectResponse("/console/settlement", status_code=303)
