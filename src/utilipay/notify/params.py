"""The params of a message, from its event: the payload's fields a template shows, the
biller's name, and for auto-pay what the payload leaves out (the funding source's
label, the mandate's cap, the bill's due date; for a debit that tops a prepaid
balance up, the balance). Prepaid balances are fen like any amount, and may be
zero or negative. Each kind of message has its TypedDict (``messages``).

A field missing from a payload raises ``KeyError``: the event is not what its
type promises (see ``consumers``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Final, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.calendar.working import is_working
from utilipay.clock import SHANGHAI, as_utc, to_shanghai_iso
from utilipay.notify.messages import (
    AutopayFailed,
    AutopaySucceeded,
    BillDueSoon,
    BillerNews,
    BillIssued,
    BillOverdue,
    DebitNews,
    MandateNews,
    Params,
    PaymentReceipt,
    PrepaidArrears,
    PrepaidCut,
    PrepaidLow,
    PrepaidNews,
    PrepaidRestored,
    PrepaidRewarded,
    PrepaidStatement,
    ReconnectDelayed,
    TopupReceipt,
)
from utilipay.notify.recipients import Account
from utilipay.outbox.dispatch import StoredEvent
from utilipay.prepaid.cuts import CUT_HOURS

ParamsOf = Callable[[AsyncConnection, StoredEvent, Account], Awaitable[Params]]

# A debit pays bills unless its event says it tops a prepaid balance up (channel-api.md §9).
AUTOPAY: Final = "autopay"
TOPUP: Final = "prepaid_topup"

_MANDATE = text(
    "SELECT cap, funding_sources FROM autopay_mandates WHERE biller_id = :biller_id AND id = :id"
)


class _Mandate(NamedTuple):
    cap: int
    funding_sources: list[dict[str, str]]  # each an id and a label (FundingSource)


# Hosted bills are the hub's; a remote biller's are known from the mandate's polls.
_DUE_DATE = text(
    """
    SELECT to_char(min(due_date), 'YYYY-MM-DD') FROM (
        SELECT due_date FROM billing_bills
         WHERE biller_id = :biller_id AND bill_no = ANY (CAST(:bill_nos AS text[]))
        UNION ALL
        SELECT due_date FROM autopay_observed_bills
         WHERE biller_id = :biller_id AND bill_no = ANY (CAST(:bill_nos AS text[]))
    ) AS found
    """
)
# A prepaid balance as of an instant, from its ledger account (a credit balance), not from
# the account's cached balance: a debit's notice is queued after the debit may have landed.
_BALANCE_AT = text(
    """
    SELECT (SELECT CAST(-coalesce(sum(m.amount), 0) AS bigint) FROM ledger_movements m
             WHERE m.account_id = pa.ledger_account_id AND m.created_at <= :at)
      FROM prepaid_balances pa
     WHERE pa.biller_id = :biller_id AND pa.account_no = :account_no
    """
)
_CUT_GRACE = text("SELECT prepaid_cut_grace_s FROM billers_directory WHERE id = :biller_id")


def _biller(account: Account) -> BillerNews:
    return {"biller": account.biller_code, "biller_name": account.biller_name}


async def bill_issued(conn: AsyncConnection, event: StoredEvent, account: Account) -> BillIssued:
    p = event.payload
    return {
        **_biller(account),
        "account_no": p["account_no"],
        "bill_no": p["bill_no"],
        "period": p["period"],
        "amount": p["amount"],
        "late_fee": p["late_fee"],
        "due_date": p["due_date"],
    }


async def bill_due_soon(conn: AsyncConnection, event: StoredEvent, account: Account) -> BillDueSoon:
    p = event.payload
    return {
        **_biller(account),
        "account_no": p["account_no"],
        "bill_no": p["bill_no"],
        "amount": p["amount"],
        "late_fee": p["late_fee"],
        "due_date": p["due_date"],
        "days_left": p["days_left"],
    }


async def bill_overdue(conn: AsyncConnection, event: StoredEvent, account: Account) -> BillOverdue:
    p = event.payload
    return {
        **await bill_issued(conn, event, account),
        "days_overdue": p["days_overdue"],
        "schedule_day": p["schedule_day"],
    }


async def payment_receipt(
    conn: AsyncConnection, event: StoredEvent, account: Account
) -> PaymentReceipt:
    p = event.payload
    return {
        **_biller(account),
        "payment_id": p["payment_id"],
        "order_id": p["order_id"],
        "account_no": p["account_no"],
        "bill_nos": p["bill_nos"],
        "amount": p["amount"],
        "receipt_no": p["receipt_no"],
        # the payload has no time: the event's
        "paid_at": to_shanghai_iso(event.occurred_at),
    }


async def mandate(conn: AsyncConnection, event: StoredEvent, account: Account) -> MandateNews:
    p = event.payload
    return {
        **_biller(account),
        "mandate_id": p["mandate_id"],
        "account_no": p["account_no"],
        "cap": p["cap"],
        "at": p["at"],
    }


async def debit_scheduled(conn: AsyncConnection, event: StoredEvent, account: Account) -> DebitNews:
    p = event.payload
    # spelled out, not ``**_biller(account)``: mypy refuses to unpack into a TypedDict with
    # an optional key (``balance``) that the unpacked one lacks
    params = DebitNews(
        biller=account.biller_code,
        biller_name=account.biller_name,
        debit_id=p["debit_id"],
        mandate_id=p["mandate_id"],
        account_no=p["account_no"],
        bill_nos=p["bill_nos"],
        amount=p["amount"],
        planned_at=p["planned_at"],
        deadline=p["deadline"],
        purpose=p.get("purpose", AUTOPAY),
    )
    if params["purpose"] == TOPUP:  # no bills to name: the balance it tops up
        params["balance"] = await _topup_balance(conn, event)
    return params


async def _topup_balance(conn: AsyncConnection, event: StoredEvent) -> int:
    """The balance when the debit's news happened: before the top-up for its notice and a
    failure, after it for a success."""
    account_no = event.payload["account_no"]
    found: int | None = (
        await conn.execute(
            _BALANCE_AT,
            {"biller_id": event.biller_id, "account_no": account_no, "at": event.occurred_at},
        )
    ).scalar_one_or_none()
    if found is None:
        raise ValueError(f"a top-up debit for {account_no}, which is not prepaid")
    return found


async def autopay_succeeded(
    conn: AsyncConnection, event: StoredEvent, account: Account
) -> AutopaySucceeded:
    scheduled = await debit_scheduled(conn, event, account)
    p = event.payload
    # The source that paid, by the label the payer gave it ("储蓄卡(1234)"), when known.
    source = p.get("funding_source")
    found = await _mandate(conn, event)
    labels = {s.get("id"): s.get("label") for s in found.funding_sources} if found else {}
    return {
        **scheduled,
        "payment_id": p["payment_id"],
        "receipt_no": p["receipt_no"],
        "funding_source": source,
        "funding_source_label": labels.get(source) or source,
        "at": to_shanghai_iso(event.occurred_at),
    }


async def autopay_failed(
    conn: AsyncConnection, event: StoredEvent, account: Account
) -> AutopayFailed:
    scheduled = await debit_scheduled(conn, event, account)
    reason = event.payload["reason"]
    if "cap" in event.payload:  # the cap that applied, even if changed since
        cap = event.payload["cap"]
    else:
        found = await _mandate(conn, event)
        cap = found.cap if found else None
    due_date: str | None = (
        await conn.execute(
            _DUE_DATE, {"biller_id": event.biller_id, "bill_nos": scheduled["bill_nos"]}
        )
    ).scalar_one()
    return {**scheduled, "reason": reason, "cap": cap, "due_date": due_date}


async def _mandate(conn: AsyncConnection, event: StoredEvent) -> _Mandate | None:
    row = (
        await conn.execute(
            _MANDATE, {"biller_id": event.biller_id, "id": event.payload["mandate_id"]}
        )
    ).first()
    return None if row is None else _Mandate(*row)


# ------------------------------------------------------------ prepaid (智能交费)


def _prepaid(event: StoredEvent, account: Account) -> PrepaidNews:
    return {
        **_biller(account),
        "category": account.category,
        "account_no": event.payload["account_no"],
        "balance": event.payload["balance"],
    }


async def prepaid_low(conn: AsyncConnection, event: StoredEvent, account: Account) -> PrepaidLow:
    """The fee warning (费用提醒): the balance after ``day`` fell below ``reminder``."""
    p = event.payload
    return {**_prepaid(event, account), "day": p["day"], "reminder": p["reminder"]}


async def prepaid_arrears(
    conn: AsyncConnection, event: StoredEvent, account: Account
) -> PrepaidArrears:
    """The outage warning (停电预警), with the first moment supply may be cut: the grace
    period after the event, moved into the hours when cuts are made."""
    grace: int = (await conn.execute(_CUT_GRACE, {"biller_id": event.biller_id})).scalar_one()
    cut_from = earliest_cut(event.occurred_at + timedelta(seconds=grace))
    return {
        **_prepaid(event, account),
        "day": event.payload["day"],
        "cut_from": to_shanghai_iso(cut_from),
    }


def earliest_cut(after: datetime) -> datetime:
    """The first moment at or after ``after`` when the cut pass cuts (prepaid/cuts.py):
    working days, within the cut hours, in Shanghai."""
    local = as_utc(after).astimezone(SHANGHAI)
    day = local.date()
    while True:
        opens, closes = (datetime.combine(day, hour, SHANGHAI) for hour in CUT_HOURS)
        if is_working(day) and local < closes:
            return max(local, opens)
        day += timedelta(days=1)


async def prepaid_cut(conn: AsyncConnection, event: StoredEvent, account: Account) -> PrepaidCut:
    """The outage notice (停电通知)."""
    return {**_prepaid(event, account), "at": to_shanghai_iso(event.occurred_at)}


async def prepaid_restored(
    conn: AsyncConnection, event: StoredEvent, account: Account
) -> PrepaidRestored:
    """Reconnection after a top-up; ``state`` LOW: the balance is positive but still low."""
    p = event.payload
    return {**_prepaid(event, account), "payment_id": p["payment_id"], "state": p["state"]}


async def prepaid_reconnect_delayed(
    conn: AsyncConnection, event: StoredEvent, account: Account
) -> ReconnectDelayed:
    """A reconnect the head-end has not confirmed by the give-up time (still being tried):
    the payer who topped up is told it is not forgotten, and not to pay again."""
    p = event.payload
    return {
        **_biller(account),
        "category": account.category,
        "account_no": p["account_no"],
        "command_id": p["command_id"],
        "at": p["at"],
    }


async def prepaid_rewarded(
    conn: AsyncConnection, event: StoredEvent, account: Account
) -> PrepaidRewarded:
    """The pre-store reward (预存奖励): ``points`` for a top-up in ``month`` (YYYY-MM)."""
    p = event.payload
    return {
        **_prepaid(event, account),
        "payment_id": p["payment_id"],
        "points": p["points"],
        "month": p["month"],
    }


async def prepaid_statement(
    conn: AsyncConnection, event: StoredEvent, account: Account
) -> PrepaidStatement:
    """The monthly statement (月度账单) of a prepaid account."""
    p = event.payload
    return {
        **_prepaid(event, account),
        "month": p["month"],
        "opening_balance": p["opening_balance"],
        "top_ups": p["top_ups"],
        "charges": p["charges"],
        "closing_balance": p["closing_balance"],
        "days": p["days"],
        "usage": str(p["usage"]),
    }


async def topup_receipt(
    conn: AsyncConnection, event: StoredEvent, account: Account
) -> TopupReceipt:
    """A top-up's receipt: no bills, the balance it left."""
    p = event.payload
    return {
        **_biller(account),
        "payment_id": p["payment_id"],
        "order_id": p["order_id"],
        "account_no": p["account_no"],
        "amount": p["amount"],
        "receipt_no": p["receipt_no"],
        "balance": p["balance"],
        "paid_at": to_shanghai_iso(event.occurred_at),
    }
