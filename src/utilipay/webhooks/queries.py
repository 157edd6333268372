"""What was delivered to channels, for people (the console's story of a payment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.webhooks.tables import webhook_attempts, webhook_deliveries


@dataclass(frozen=True, slots=True)
class Delivery:
    event_type: str
    status: str  # PENDING | DELIVERED | GAVE_UP
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None  # the channel's answer to the last attempt
    last_error: str | None


async def deliveries_for(conn: AsyncConnection, channel_id: int, object_id: str) -> list[Delivery]:
    """The webhooks of one object (a payment) to its channel, oldest first, each with what
    its last attempt got back."""
    d, a = webhook_deliveries.c, webhook_attempts.c
    last = (
        select(a.status_code, a.error)
        .where(a.channel_id == d.channel_id, a.delivery_id == d.id)
        .order_by(a.attempt.desc())
        .limit(1)
        .lateral()
    )
    rows = await conn.execute(
        select(
            d.event_type,
            d.status,
            d.attempts,
            d.created_at,
            d.delivered_at,
            last.c.status_code.label("last_status_code"),
            last.c.error.label("last_error"),
        )
        .select_from(webhook_deliveries.outerjoin(last, true()))
        .where(d.channel_id == channel_id, d.object_id == object_id)
        .order_by(d.created_at, d.id)
    )
    return [Delivery(**r._mapping) for r in rows]
