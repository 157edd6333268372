"""Claiming due items for one attempt, so that no transaction is held while they are sent.

Webhook deliveries and notifications are worked a batch at a time (``claim_batch``, then
``record_batch``), meter commands one at a time (``claim_due``), but the same way: the
item is claimed in a short transaction (locked ``SKIP LOCKED`` so another worker passes
it by, its ``attempts`` counted, its ``next_attempt_at`` moved to the lease's end), the
call is made with no transaction open, and the outcome is recorded only while the row
still counts that attempt (the fence). A worker killed mid-call leaves the item due again
when the lease ends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, Row, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.common.columns import Columns, insert_rows, update_rows

K = TypeVar("K", bound=tuple[object, ...])  # a row's key


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


async def record_batch(
    conn: AsyncConnection, log: Table, logged: Columns, table: Table, keys: Sequence[str],
    settled: Columns, results: Mapping[K, str],
) -> Counter[str]:  # fmt: skip
    """A claimed batch recorded in two statements: every attempt logged (``logged`` into
    ``log``), and each outcome (``settled``, by ``keys``) set only where the row is still
    PENDING and still counts this claim's attempt (the fence). What the pass counts: each
    row's ``results``, or "overtaken" where a later claim has taken the row over."""
    await insert_rows(conn, log, logged)
    done = await update_rows(
        conn, table, keys, settled, fence="attempts", where="t.status = 'PENDING'"
    )
    return Counter(r if key in done else "overtaken" for key, r in results.items())
