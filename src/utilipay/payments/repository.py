from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.db.owners import Owner, of_owner
from utilipay.payments.schemas import PaymentStatus, StoredPayment
from utilipay.payments.tables import payments


async def by_id(conn: AsyncConnection, payment_id: str) -> StoredPayment | None:
    row = (await conn.execute(select(payments).where(payments.c.id == payment_id))).first()
    return None if row is None else StoredPayment.of(row._mapping)


async def by_order(conn: AsyncConnection, channel_id: int, order_id: str) -> StoredPayment | None:
    """Through the order's own key (payment_orders, migration 0022), whatever its biller."""
    query = text("SELECT * FROM order_payment(:channel_id, :order_id)")
    row = (await conn.execute(query, {"channel_id": channel_id, "order_id": order_id})).first()
    return None if row is None else StoredPayment.of(row._mapping)


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
            payments.c.status == PaymentStatus.PROCESSING,
            payments.c.resolution != "EXCEPTION",
        )
        .values(next_check_at=now)
    )


async def listed(
    conn: AsyncConnection,
    owner: Owner,
    limit: int = 50,
) -> list[StoredPayment]:
    """The latest payments of a payer at any channel and/or of an account, newest first."""
    query = of_owner(select(payments), payments, owner)
    order = (payments.c.created_at.desc(), payments.c.id.desc())
    rows = await conn.execute(query.order_by(*order).limit(limit))
    return [StoredPayment.of(r._mapping) for r in rows]
