"""The params of a message, from its event: the payload's fields a template shows, the
biller's name, and for auto-pay what the payload leaves out (the funding source's
label, the mandate's cap, the bill's due date).

A field missing from a payload raises ``KeyError``: the event is not what its
type promises (see ``consumers``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import to_shanghai_iso
from utilipay.notify.recipients import Account

ParamsOf = Callable[[AsyncConnection, Any, Account], Awaitable[dict[str, Any]]]

_MANDATE = text(
    "SELECT cap, funding_sources FROM mandates WHERE biller_id = :biller_id AND id = :id"
)
# Hosted bills are the hub's; a remote biller's are known from the mandate's polls.
_DUE_DATE = text(
    """
    SELECT to_char(min(due_date), 'YYYY-MM-DD') FROM (
        SELECT due_date FROM bills
         WHERE biller_id = :biller_id AND bill_no = ANY (CAST(:bill_nos AS text[]))
        UNION ALL
        SELECT due_date FROM observed_bills
         WHERE biller_id = :biller_id AND bill_no = ANY (CAST(:bill_nos AS text[]))
    ) AS found
    """
)


def _pick(payload: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {key: payload[key] for key in keys}


def _biller(account: Account) -> dict[str, Any]:
    return {"biller": account.biller_code, "biller_name": account.biller_name}


async def bill_issued(conn: AsyncConnection, event: Any, account: Account) -> dict[str, Any]:
    keys = ("account_no", "bill_no", "period", "amount", "late_fee", "due_date")
    return {**_biller(account), **_pick(event.payload, *keys)}


async def bill_due_soon(conn: AsyncConnection, event: Any, account: Account) -> dict[str, Any]:
    keys = ("account_no", "bill_no", "amount", "late_fee", "due_date", "days_left")
    return {**_biller(account), **_pick(event.payload, *keys)}


async def payment_receipt(conn: AsyncConnection, event: Any, account: Account) -> dict[str, Any]:
    keys = ("payment_id", "order_id", "account_no", "bill_nos", "amount", "receipt_no")
    return {
        **_biller(account),
        **_pick(event.payload, *keys),
        "paid_at": to_shanghai_iso(event.occurred_at),  # the payload has no time: the event's
    }


async def mandate(conn: AsyncConnection, event: Any, account: Account) -> dict[str, Any]:
    return {**_biller(account), **_pick(event.payload, "mandate_id", "account_no", "cap", "at")}


async def debit_scheduled(conn: AsyncConnection, event: Any, account: Account) -> dict[str, Any]:
    keys = ("debit_id", "mandate_id", "account_no", "bill_nos", "amount", "planned_at", "deadline")
    return {**_biller(account), **_pick(event.payload, *keys)}


async def autopay_succeeded(conn: AsyncConnection, event: Any, account: Account) -> dict[str, Any]:
    params = await debit_scheduled(conn, event, account)
    params.update(_pick(event.payload, "payment_id", "receipt_no"))
    # The source that paid, by the label the payer gave it ("储蓄卡(1234)"), when known.
    source = event.payload.get("funding_source")
    found = await _mandate(conn, event)
    labels = {s.get("id"): s.get("label") for s in found.funding_sources} if found else {}
    params["funding_source"] = source
    params["funding_source_label"] = labels.get(source) or source
    params["at"] = to_shanghai_iso(event.occurred_at)
    return params


async def autopay_failed(conn: AsyncConnection, event: Any, account: Account) -> dict[str, Any]:
    params = await debit_scheduled(conn, event, account)
    params["reason"] = event.payload["reason"]
    if "cap" in event.payload:  # the cap that applied, even if changed since
        params["cap"] = event.payload["cap"]
    else:
        found = await _mandate(conn, event)
        params["cap"] = found.cap if found else None
    params["due_date"] = (
        await conn.execute(
            _DUE_DATE, {"biller_id": event.biller_id, "bill_nos": params["bill_nos"]}
        )
    ).scalar_one()
    return params


async def _mandate(conn: AsyncConnection, event: Any) -> Any:
    return (
        await conn.execute(
            _MANDATE, {"biller_id": event.biller_id, "id": event.payload["mandate_id"]}
        )
    ).first()
