"""Payments: finding them (by order id, receipt, account, payer, channel, utility, status or
business dates, newest first, a page at a time) and a payment's whole story on one page,
each part read through the area that owns it. Utility staff see their utilities' only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from utilipay.billers import calls
from utilipay.billers import repository as billers
from utilipay.channels import repository as channels
from utilipay.console.i18n import words
from utilipay.console.templating import render
from utilipay.console.visits import check_scope, host, needs
from utilipay.errors import DomainError, ErrorCode
from utilipay.ledger import service as ledger
from utilipay.notify import queries as messages
from utilipay.notify.schemas import Notification
from utilipay.payments import exceptions, search, story
from utilipay.payments.schemas import PaymentStatus
from utilipay.staff.roles import Permission, Staff
from utilipay.webhooks import queries as webhooks

router = APIRouter()
PAGE = 50
Text = Annotated[str, Query(max_length=200)]
FILTERS = ("order", "receipt", "account", "payer", "channel", "biller", "status", "since", "until")


def _bad(detail: str) -> DomainError:
    return DomainError(ErrorCode.MALFORMED_REQUEST, detail)


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise _bad(words("A date is YYYY-MM-DD.")) from None


async def _filter(
    conn: AsyncConnection, staff: Staff, given: dict[str, str]
) -> search.PaymentFilter:
    """What a person typed, as the payments area's filter (codes become ids)."""
    channel = await channels.by_code(conn, given["channel"]) if given["channel"] else None
    if given["channel"] and channel is None:
        raise _bad(words("No such channel."))
    biller = await billers.by_code(conn, given["biller"]) if given["biller"] else None
    if given["biller"] and biller is None:
        raise _bad(words("No such utility."))
    if given["status"] and given["status"] not in set(PaymentStatus):
        raise _bad(words("No such status."))
    return search.PaymentFilter(
        order_id=given["order"] or None,
        receipt_no=given["receipt"] or None,
        account_no=given["account"] or None,
        payer=given["payer"] or None,
        channel_id=None if channel is None else channel.id,
        biller_id=None if biller is None else biller.id,
        status=PaymentStatus(given["status"]) if given["status"] else None,
        since=_day(given["since"]),
        until=_day(given["until"]),
        billers=staff.billers,
    )


@router.get("/payments")
async def payment_list(
    request: Request,
    staff: Annotated[Staff, needs(Permission.PAYMENTS_READ)],
    order: Text = "", receipt: Text = "", account: Text = "", payer: Text = "",
    channel: Text = "", biller: Text = "", status: Text = "", since: Text = "",
    until: Text = "", cursor: Text = "",
) -> Response:  # fmt: skip
    given = dict(zip(FILTERS, (order, receipt, account, payer, channel, biller, status, since,
                               until), strict=True))  # fmt: skip
    given = {name: value.strip() for name, value in given.items()}
    hub = host(request)
    error, page = "", search.Page([], None)
    async with hub.engine.connect() as conn:
        utilities = [b for b in await billers.all_billers(conn) if staff.may_see(b.id)]
        known_channels = await channels.all_channels(conn)
        try:
            wanted = await _filter(conn, staff, given)
            page = await search.search(conn, wanted, cursor=cursor or None, limit=PAGE)
        except DomainError as exc:
            error = exc.detail
    return render(
        request, "payments.html", status_code=400 if error else 200, page=page, filters=given,
        error=error, utilities=utilities, channels=known_channels, statuses=list(PaymentStatus),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Story:
    """Everything about one payment, each part from the area that keeps it."""

    told: story.Told
    calls: list[calls.LoggedCall]
    exceptions: list[exceptions.Item]
    entries: list[ledger.Entry]
    webhooks: list[webhooks.Delivery]
    messages: list[Notification]


async def _story(conn: AsyncConnection, told: story.Told) -> Story:
    p = told.payment
    return Story(
        told,
        await calls.calls_for(conn, p.biller_id, p.id),
        await exceptions.items_for(conn, p.biller_id, p.id),
        await ledger.entries_for_payment(conn, p.biller_id, p.id),
        await webhooks.deliveries_for(conn, p.channel_id, p.id),
        await messages.messages_for_payment(conn, p.biller_id, p.account_no, p.id),
    )


@router.get("/payments/{payment_id}")
async def payment_story(
    request: Request,
    staff: Annotated[Staff, needs(Permission.PAYMENTS_READ)],
    payment_id: Annotated[str, Path(max_length=64)],
) -> Response:
    hub = host(request)
    async with hub.engine.connect() as conn:
        told = await story.told(conn, payment_id)
        # another utility's payment is refused below, its parts never read
        whole = (
            None
            if told is None or not staff.may_see(told.payment.biller_id)
            else (await _story(conn, told))
        )
    if told is None:
        raise DomainError(ErrorCode.NOT_FOUND, words("No such payment."))
    await check_scope(request, staff, told.payment.biller_id, f"payment {payment_id}")
    return render(request, "payment_story.html", story=whole)
