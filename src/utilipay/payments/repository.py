from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import BillerCode
from utilipay.payments.schemas import Payment, PaymentStatus
from utilipay.payments.tables import payments


def to_payment(row: Mapping[Any, Any], biller_code: BillerCode) -> Payment:
    return Payment(
        id=row["id"],
        order_id=row["order_id"],
        channel_id=row["channel_id"],
        status=PaymentStatus(row["status"]),
        biller=biller_code(row["biller_id"]),
        account_no=row["account_no"],
        amount=row["amount"],
        currency=row["currency"],
        bill_nos=tuple(row["bill_nos"]),
        receipt_no=row["receipt_no"],
        biller_serial=row["biller_serial"],
        failure_code=row["failure_code"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        purpose=row["purpose"],
    )


async def by_id(conn: AsyncConnection, payment_id: str) -> Any | None:
    return (await conn.execute(select(payments).where(payments.c.id == payment_id))).first()


async def by_order(conn: AsyncConnection, channel_id: int, order_id: str) -> Any | None:
    """Through the order's own key (payment_orders, migration 0022), whatever its biller."""
    query = text("SELECT * FROM order_payment(:channel_id, :order_id)")
    return (await conn.execute(query, {"channel_id": channel_id, "order_id": order_id})).first()


async def resolve_now(
    conn: AsyncConnection, biller_id: int, payment_id: str, now: datetime
) -> None:
    """Bring a pending payment's next check forward to ``now`` (its resolver confirms it and
    charges again if lost); not one left to a person."""
    await conn.execute(
        update(payments)
        .where(
            payments.c.biller_id == biller_id,
            payments.c.id == payment_id,
            payments.c.status == "PROCESSING",
            payments.c.resolution != "EXCEPTION",
        )
        .values(next_check_at=now)
    )
