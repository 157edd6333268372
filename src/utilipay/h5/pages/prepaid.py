"""Smart payment (智能交费) on the payer pages: a prepaid account's balance and state in
plain words, its daily use over the last 30 days, and its monthly statements.

The gate is the API's (``GET /v1/prepaid``, ``GET /v1/prepaid/statements``): the payer's
own binding of the account at this channel, verified (channel-api.md §13). The domain has
no landlord: a landlord is a second payer who binds the same account and verifies it, and
then sees what the tenant sees; the page says how many such payers share the meter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from utilipay.autopay import enrolments
from utilipay.autopay.api import Month
from utilipay.billers.lookup import BillerHost, active_biller
from utilipay.billers.schemas import Biller, Category
from utilipay.bindings import service as bindings_service
from utilipay.bindings.schemas import Binding
from utilipay.clock import business_date
from utilipay.console.i18n import Locale, words
from utilipay.db.owners import Owner
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5.pages.accounts import hub_of, payers_binding
from utilipay.h5.problems import said
from utilipay.h5.smart import Standing, day_label, explain
from utilipay.h5.templating import locale_of, render
from utilipay.h5.usage import SPAN, usage_chart
from utilipay.h5.visits import Payer, Visitor
from utilipay.prepaid import service as prepaid_service
from utilipay.prepaid.queries import PrepaidView, supply_times, view_for_payer
from utilipay.prepaid.rules import State
from utilipay.prepaid.statements import Statement, last_month

router = APIRouter()

STATE_NAMES = {
    State.NORMAL: words("Supply on"),
    State.LOW: words("Balance low"),
    State.ARREARS: words("In arrears"),
    State.CUT: words("Supply stopped"),
}
UNITS = {Category.ELECTRICITY: words("kWh"), Category.WATER: words("m³"), Category.GAS: words("m³")}
RESTORE_SHOWN = timedelta(days=7)  # "supply was restored" is news for a week, then noise


async def _standing(
    conn: AsyncConnection, biller: Biller, view: PrepaidView, now: datetime
) -> Standing:
    account = view.account
    supply = await supply_times(conn, biller, account.account_no)
    restored = supply.reconnected
    if restored is not None and (
        (supply.disconnected is not None and supply.disconnected > restored)
        or now - restored > RESTORE_SHOWN
    ):
        restored = None
    return Standing(
        balance=account.balance, reminder=account.reminder, state=account.state,
        state_since=account.state_since, grace=timedelta(seconds=biller.prepaid_cut_grace_s),
        warned_at=supply.warned, restored_at=restored,
    )  # fmt: skip


async def _sharing(
    conn: AsyncConnection, hub: BillerHost, payer: Payer, biller: Biller, account_no: str
) -> int:
    """How many other payers at this channel see the meter (a landlord, a tenant)."""
    owner = Owner(biller_id=biller.id, account_no=account_no)
    live = await bindings_service.live_bindings(conn, hub.biller_code, owner)
    return sum(
        1 for channel_id, b in live
        if channel_id == payer.channel.id and b.verified and b.payer != payer.payer
    )  # fmt: skip


def _verification_needed(request: Request, binding: Binding, exc: DomainError) -> Response:
    """An unverified binding: a page saying what to do, with the API's status and code."""
    return render(
        request, "prepaid_verify.html", status_code=403, binding=binding,
        error=said(request, exc),
    )  # fmt: skip


async def _binding_and_biller(
    request: Request, payer: Payer, binding_id: str
) -> tuple[Binding, Biller]:
    """The payer's own binding (anyone else's: 404) and its utility."""
    binding = await payers_binding(request, payer, binding_id)
    hub = hub_of(request)
    return binding, active_biller(hub.biller(binding.biller), binding.biller)


@router.get("/prepaid/{binding_id}")
async def balance_page(request: Request, binding_id: str, payer: Visitor) -> Response:
    binding, biller = await _binding_and_biller(request, payer, binding_id)
    hub = hub_of(request)
    now = hub.clock.now()
    try:
        async with hub.engine.connect() as conn:
            view = await view_for_payer(
                conn, payer.channel, payer.payer, biller, binding.account_no, days=SPAN
            )
            standing = await _standing(conn, biller, view, now)
            others = await _sharing(conn, hub, payer, biller, binding.account_no)
    except DomainError as exc:
        if exc.code is not ErrorCode.VERIFICATION_REQUIRED:
            raise
        return _verification_needed(request, binding, exc)
    locale = locale_of(request)
    return render(
        request, "prepaid.html", binding=binding, view=view, others=others,
        state_name=STATE_NAMES[view.account.state], explanation=explain(standing, now, locale),
        chart=usage_chart(view.days, business_date(now) - timedelta(days=1)),
        unit=_unit(biller), on=_on(locale),
    )  # fmt: skip


@router.get("/prepaid/{binding_id}/statement")
async def statement_page(
    request: Request, binding_id: str, payer: Visitor, month: Month = ""
) -> Response:
    """A month's statement (``month``: the API's YYYY-MM; none: the last full month); a
    month not issued yet says so."""
    binding, biller = await _binding_and_biller(request, payer, binding_id)
    hub = hub_of(request)
    first_day = (
        date.fromisoformat(f"{month}-01") if month else last_month(business_date(hub.clock.now()))
    )
    statement: Statement | None = None
    async with hub.engine.connect() as conn:
        if await prepaid_service.find(conn, biller, binding.account_no) is None:
            raise DomainError(ErrorCode.NOT_FOUND, f"account {binding.account_no} is not prepaid")
        try:
            statement = await enrolments.statement(
                conn, payer.channel, biller, payer.payer, binding.account_no, first_day
            )
        except DomainError as exc:
            if exc.code is ErrorCode.VERIFICATION_REQUIRED:
                return _verification_needed(request, binding, exc)
            if exc.code is not ErrorCode.NOT_FOUND:  # not issued (yet): the page says so
                raise
    return render(
        request, "prepaid_statement.html", binding=binding, statement=statement,
        month=f"{first_day:%Y-%m}", unit=_unit(biller),
        on=_on(locale_of(request)),
    )  # fmt: skip


def _unit(biller: Biller) -> str:
    return UNITS.get(biller.category, words("units"))


def _on(locale: Locale) -> Callable[[date], str]:
    """A day as the payer reads it, for the templates."""
    return lambda day: day_label(day, locale)
