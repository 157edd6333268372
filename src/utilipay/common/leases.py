"""Claiming a due item for one attempt, so that no transaction is held while it is sent.

Notifications and meter commands are each worked the same way (webhook deliveries too, a
batch at a time: ``webhooks/service.py``): the item is claimed in a short transaction
(locked ``SKIP LOCKED`` so another worker passes it by, its ``attempts`` counted, its
``next_attempt_at`` moved to the lease's end), the call is made with no transaction open,
and the outcome is recorded only while the row still counts that attempt (the fence). A
worker killed mid-call leaves the item due again when the lease ends.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Row, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection


async def claim_due(
    conn: AsyncConnection,
    table: Table,
    key: ColumnElement[bool],
    *,
    open_statuses: Collection[str],
    now: datetime,
    until: datetime,
    **also: object,
) -> Row[tuple[object, ...]] | None:
    """The row at ``key``, as it was, if it is open, due at ``now`` and not locked by
    another worker; it is leased until ``until`` for its next attempt (``attempts`` counts
    it), with ``also`` set on it too. None if it is not to be worked now."""
    row = (
        await conn.execute(
            select(table)
            .where(key, table.c.status.in_(open_statuses), table.c.next_attempt_at <= now)
            .with_for_update(skip_locked=True)
        )
    ).first()
    if row is not None:
        await conn.execute(
            update(table)
            .where(key)
            .values(attempts=table.c.attempts + 1, next_attempt_at=until, **also)
        )
    return row


async def claim_batch(
    conn: AsyncConnection, table: Table, keys: Sequence[str], *, open_status: str,
    now: datetime, until: datetime, limit: int,
) -> Sequence[Row[tuple[object, ...]]]:  # fmt: skip
    """As ``claim_due``, for up to ``limit`` rows at once, oldest due first, in one
    statement: the due rows no other worker has locked (``SKIP LOCKED``: passed by, not
    waited for), each leased until ``until`` with its ``attempts`` counted; the rows as
    they are now (``attempts`` counts this attempt)."""
    c = table.c
    due = (
        select(*(c[k] for k in keys))
        .where(c.status == open_status, c.next_attempt_at <= now)
        .order_by(c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    claimed = (
        update(table)
        .where(*(c[k] == due.c[k] for k in keys))
        .values(attempts=c.attempts + 1, next_attempt_at=until)
        .returning(*c)
    )
    return (await conn.execute(claimed)).all()
