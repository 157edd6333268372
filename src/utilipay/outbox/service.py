"""The transactional outbox: events are written in the transaction that caused them.

Later consumers (webhooks, notifications, auto-pay) read them from the table,
so an event exists if and only if its change committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.outbox.tables import outbox_events


@dataclass(frozen=True, slots=True)
class Event:
    biller_id: int
    event_type: str
    aggregate_id: str
    payload: dict[str, Any]
    occurred_at: datetime


async def emit(conn: AsyncConnection, events: list[Event]) -> None:
    if not events:
        return
    await conn.execute(
        insert(outbox_events),
        [
            {
                "biller_id": e.biller_id,
                "event_type": e.event_type,
                "aggregate_id": e.aggregate_id,
                "payload": e.payload,
                "occurred_at": e.occurred_at,
            }
            for e in events
        ],
    )
