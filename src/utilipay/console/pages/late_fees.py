"""Late fees (违约金): a hosted utility's rules as data (added here, an overlap refused
naming both rules), a bill's late fee as computed on a day, and waivers with a reason.
The same service as ``utilipay late-fees …`` and the admin API (``billing.latefee_service``),
every change audited there. Reading takes the tariffs permission; changing, the late-fees
one. Utility staff see only their utility and branches; another's, by URL or form, is
refused and audited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Biller, IntegrationMode
from utilipay.billing import latefee_service as service
from utilipay.billing.latefees import DayBasis, LateFeeRule
from utilipay.clock import business_date
from utilipay.console.i18n import words
from utilipay.console.pages.accounts import accounts_host, billers_of, seen_biller
from utilipay.console.templating import render
from utilipay.console.visits import needs
from utilipay.errors import DomainError, ErrorCode
from utilipay.money import parse_fen
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
Reader = Annotated[Staff, needs(Permission.TARIFFS_READ)]
Manager = Annotated[Staff, needs(Permission.LATE_FEES_MANAGE)]
Short = Annotated[str, Form(max_length=64)]
Reason = Annotated[str, Form(max_length=500)]
PAGE = "/console/late-fees"
DONE = {
    "rule": words("Rule added: bills falling due while it is in force follow it."),
    "waived": words("Late fee waived."),
}


def _refused(message: str) -> DomainError:
    return DomainError(ErrorCode.MALFORMED_REQUEST, message)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        raise _refused(words("The day must be YYYY-MM-DD.")) from None


def _fen(text: str) -> int | None:
    try:
        return parse_fen(text) if text.strip() else None
    except ValueError:
        raise _refused(words("An amount is a whole number of fen, e.g. 5000.")) from None


def _plain(value: Decimal) -> str:
    """1.0000 (as numeric(8, 4) keeps it) → 1; 10 → 10, not 1E+1."""
    return f"{value.normalize():f}"


def _hosted(request: Request, staff: Staff) -> list[Biller]:
    return [b for b in billers_of(request, staff) if b.mode is IntegrationMode.HOSTED]


async def _chosen(request: Request, staff: Staff, code: str) -> Biller | None:
    """The utility asked for (refused, audited, when not the person's), else their first."""
    if code:
        return await seen_biller(request, staff, code, f"late fees of {code}")
    hosted = _hosted(request, staff)
    return hosted[0] if hosted else None


async def _page(
    request: Request, staff: Staff, *, biller: str = "", bill: str = "", on: str = "",
    status_code: int = 200, error: str = "", done: str = "", form: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    hub = accounts_host(request)
    chosen = await _chosen(request, staff, biller)
    rules: list[LateFeeRule] = []
    fee = None
    async with hub.engine.connect() as conn:
        try:
            if chosen is not None:
                hosted = await billers_service.hosted_biller(conn, chosen.code, service.NEEDS)
                rules = await service.rules_of(conn, hosted.id)
            if chosen is not None and bill.strip():
                day = _day(on) or business_date(hub.clock.now())
                fee = await service.bill_fee(conn, chosen.code, bill.strip(), day)
        except DomainError as exc:
            error = error or exc.detail
            status_code = 404 if exc.code is ErrorCode.NOT_FOUND else 400
    return render(
        request, "late_fees.html", status_code=status_code, billers=_hosted(request, staff),
        chosen=chosen, rules=rules, fee=fee, bill=bill, on=on, error=error, plain=_plain,
        done=DONE.get(done, ""), form=form or {},
        may_manage=staff.may(Permission.LATE_FEES_MANAGE),
    )  # fmt: skip


@router.get("/late-fees")
async def late_fees_page(
    request: Request,
    staff: Reader,
    biller: Annotated[str, Query(max_length=32)] = "",
    bill: Annotated[str, Query(max_length=64)] = "",
    on: Annotated[str, Query(max_length=10)] = "",
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return await _page(request, staff, biller=biller, bill=bill, on=on, done=done)


def _rule(form: dict[str, str]) -> LateFeeRule:
    """The rule typed in the form; refused in words when a field is not what it says."""
    start = _day(form["effective_from"])
    if start is None:
        raise _refused(words("A rule needs its first day."))
    grace = form["grace_days"].strip() or "0"
    if not grace.isascii() or not grace.isdigit():
        raise _refused(words("Grace days are a whole number of days."))
    percent = form["cap_percent"].strip()
    return LateFeeRule(
        effective_from=start,
        effective_to=_day(form["effective_to"]),
        daily_per_mille=service.parse_decimal(form["daily_per_mille"], "rate"),
        grace_days=int(grace),
        basis=DayBasis(form["basis"]) if form["basis"] in set(DayBasis) else DayBasis.CALENDAR,
        cap_fen=_fen(form["cap_fen"]),
        cap_percent=service.parse_decimal(percent, "cap") if percent else None,
        customer_class=form["customer_class"].strip() or None,
    )


@router.post("/late-fees/rules")
async def add_rule(
    request: Request,
    staff: Manager,
    biller: Annotated[str, Form(max_length=32)],
    effective_from: Short = "",
    effective_to: Short = "",
    daily_per_mille: Short = "",
    grace_days: Short = "",
    cap_fen: Short = "",
    cap_percent: Short = "",
    basis: Short = "calendar",
    customer_class: Short = "",
    reason: Reason = "",
) -> Response:
    found = await seen_biller(request, staff, biller, f"late-fee rules of {biller}")
    typed = {
        "effective_from": effective_from, "effective_to": effective_to,
        "daily_per_mille": daily_per_mille, "grace_days": grace_days, "cap_fen": cap_fen,
        "cap_percent": cap_percent, "basis": basis, "customer_class": customer_class,
        "reason": reason,
    }  # fmt: skip
    hub = accounts_host(request)
    try:
        rule = _rule(typed)
        async with hub.engine.begin() as conn:
            await service.add_rule(conn, hub.clock, found.code, rule, actor=staff.username,
                                   reason=reason.strip())  # fmt: skip
    except DomainError as exc:
        return await _page(request, staff, biller=found.code, status_code=400, error=exc.detail,
                           form=typed)  # fmt: skip
    query = urlencode({"biller": found.code, "done": "rule"})
    return RedirectResponse(f"{PAGE}?{query}", status_code=303)


@router.post("/late-fees/waivers")
async def waive(
    request: Request,
    staff: Manager,
    biller: Annotated[str, Form(max_length=32)],
    bill: Annotated[str, Form(max_length=64)],
    amount: Short = "",
    reason: Reason = "",
) -> Response:
    found = await seen_biller(request, staff, biller, f"late fee of {biller} bill {bill}")
    hub = accounts_host(request)
    try:
        fen = _fen(amount)
        async with hub.engine.begin() as conn:
            await service.waive(conn, hub.clock, found.code, bill.strip(), fen,
                                actor=staff.username, reason=reason.strip())  # fmt: skip
    except DomainError as exc:
        return await _page(request, staff, biller=found.code, bill=bill, status_code=400,
                           error=exc.detail)  # fmt: skip
    query = urlencode({"biller": found.code, "bill": bill.strip(), "done": "waived"})
    return RedirectResponse(f"{PAGE}?{query}", status_code=303)
