"""The log of protocol calls: what the hub asked a biller, and what came back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.remote import CallRecord
from utilipay.billers.tables import biller_calls


async def log_call(
    conn: AsyncConnection, biller_id: int, record: CallRecord, payment_id: str | None = None
) -> None:
    await conn.execute(
        insert(biller_calls).values(
            biller_id=biller_id,
            payment_id=payment_id,
            trancode=record.trancode,
            serial=record.serial,
            outcome=record.outcome,
            detail=record.detail,
            at=record.at,
            duration_ms=record.duration_ms,
        )
    )


@dataclass(frozen=True, slots=True)
class LoggedCall:
    trancode: str
    serial: str
    outcome: str
    detail: str
    at: datetime
    duration_ms: int


async def calls_for(conn: AsyncConnection, biller_id: int, payment_id: str) -> list[LoggedCall]:
    """A payment's protocol calls (charge, confirm, refund), in the order they were made."""
    c = biller_calls.c
    rows = await conn.execute(
        select(c.trancode, c.serial, c.outcome, c.detail, c.at, c.duration_ms)
        .where(c.biller_id == biller_id, c.payment_id == payment_id)
        .order_by(c.at, c.id)
    )
    return [LoggedCall(**r._mapping) for r in rows]
