"""The bill runs made, for people: newest first, of some utilities or of all."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billruns.tables import billing_runs


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    biller_id: int
    period: str
    as_of: date
    due_date: date
    ran_at: datetime
    actor: str
    bills_issued: int
    amount: int  # fen
    awaiting_readings: int
    unpriced: int


async def latest_runs(
    conn: AsyncConnection, biller_ids: Collection[int] | None, limit: int = 50
) -> list[Run]:
    """The latest runs of ``biller_ids`` (None: every utility's)."""
    query = select(billing_runs)
    if biller_ids is not None:
        query = query.where(billing_runs.c.biller_id.in_(list(biller_ids)))
    rows = await conn.execute(
        query.order_by(billing_runs.c.ran_at.desc(), billing_runs.c.id.desc()).limit(limit)
    )
    return [Run(**{name: r._mapping[name] for name in Run.__slots__}) for r in rows]
