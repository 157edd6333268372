"""The log of protocol calls: what the hub asked a biller, and what came back."""

from __future__ import annotations

from sqlalchemy import insert
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
