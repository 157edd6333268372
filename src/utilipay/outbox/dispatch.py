"""Draining the outbox: each event goes to the consumers of its type, exactly once.

Events are claimed with ``FOR UPDATE SKIP LOCKED`` in id order and marked
dispatched in the transaction that hands them on, so a worker killed midway
leaves them for the next pass and two workers never take the same event.
Consumers only write rows in that same transaction (a webhook delivery, a
notification), each unique per event, so a re-run cannot double anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.clock import Clock


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the outbox hands it to its consumers: as emitted, with its id."""

    biller_id: int
    id: int
    event_type: str
    aggregate_id: str
    payload: dict[str, Any]
    occurred_at: datetime


Consumer = Callable[[AsyncConnection, StoredEvent, datetime], Awaitable[None]]

_CLAIM = text(
    """
    SELECT biller_id, id, event_type, aggregate_id, payload, occurred_at
      FROM outbox_events WHERE dispatched_at IS NULL
     ORDER BY id LIMIT :limit
       FOR UPDATE SKIP LOCKED
    """
)
_MARK = text(
    """
    UPDATE outbox_events SET dispatched_at = :now
     WHERE (biller_id, id) IN (SELECT * FROM unnest(CAST(:billers AS integer[]),
                                                    CAST(:ids AS bigint[])))
    """
)


class Dispatcher:
    def __init__(self, consumers: Mapping[str, Sequence[Consumer]]) -> None:
        self._consumers = consumers

    async def dispatch_pending(self, engine: AsyncEngine, clock: Clock, *, limit: int = 500) -> int:
        """One batch of pending events; the number handed on."""
        async with engine.begin() as conn:
            claimed = await conn.execute(_CLAIM, {"limit": limit})
            events = [StoredEvent(**row._mapping) for row in claimed]
            now = clock.now()
            for event in events:
                for consume in self._consumers.get(event.event_type, ()):
                    await consume(conn, event, now)
            if events:
                await conn.execute(
                    _MARK,
                    {
                        "now": now,
                        "billers": [e.biller_id for e in events],
                        "ids": [e.id for e in events],
                    },
                )
        return len(events)
