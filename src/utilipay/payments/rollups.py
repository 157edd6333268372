"""The payments' figures per business day, utility, channel and status, read from
``payment_rollups`` (kept by the triggers of ``sql/rollups.sql``), and the payments whose
outcome is not known yet: what the console's dashboard shows, in a few index reads.

The fold (``fold``, a worker pass) keeps the rollup at one row per key; a read sums a key's
rows, so it is exact whether or not the fold has run since the last payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.common.passes import Pass
from utilipay.payments.schemas import PaymentStatus

_DAYS = """
SELECT business_date, biller_id, channel_id, status, sum(payments) AS payments,
       sum(amount) AS amount
  FROM payment_rollups
 WHERE business_date BETWEEN :since AND :until {scope}
 GROUP BY 1, 2, 3, 4
HAVING sum(payments) <> 0
"""
# a partial index holds the PROCESSING payments (payments_due): never the history
_UNKNOWN = """
SELECT biller_id, id, channel_id, order_id, amount, created_at, resolution
  FROM payments
 WHERE status = 'PROCESSING' {scope}
 ORDER BY created_at, id
 LIMIT :limit
"""
_IN_SCOPE = "AND biller_id = ANY(:billers)"


@dataclass(frozen=True, slots=True)
class DayCount:
    """A business day's payments of one utility by one channel in one status."""

    day: date
    biller_id: int
    channel_id: int
    status: PaymentStatus
    payments: int
    amount: int  # fen


@dataclass(frozen=True, slots=True)
class UnknownOutcome:
    biller_id: int
    id: str
    channel_id: int
    order_id: str
    amount: int
    created_at: datetime
    resolution: str | None  # CHARGING, CONFIRMING, REVERSING… (payments/resolution.py)


def _scoped(sql: str, billers: frozenset[int] | None) -> tuple[str, dict[str, object]]:
    if billers is None:
        return sql.format(scope=""), {}
    return sql.format(scope=_IN_SCOPE), {"billers": sorted(billers)}


async def days(
    conn: AsyncConnection, since: date, until: date, billers: frozenset[int] | None
) -> list[DayCount]:
    """The counts of the business days ``since`` to ``until`` (both in), of every utility
    (``billers`` None) or of those given."""
    sql, params = _scoped(_DAYS, billers)
    rows = await conn.execute(text(sql), {"since": since, "until": until, **params})
    return [
        DayCount(r.business_date, r.biller_id, r.channel_id, PaymentStatus(r.status),
                 int(r.payments), int(r.amount))
        for r in rows
    ]  # fmt: skip


async def unknown_outcomes(
    conn: AsyncConnection, billers: frozenset[int] | None, limit: int
) -> list[UnknownOutcome]:
    """The oldest payments still PROCESSING (their outcome unknown), oldest first."""
    sql, params = _scoped(_UNKNOWN, billers)
    rows = await conn.execute(text(sql), {"limit": limit, **params})
    return [UnknownOutcome(**r._mapping) for r in rows]


async def fold(engine: AsyncEngine) -> Pass:
    """Merge each key's rows into one (a pass of the worker); a figure is the same after."""
    async with engine.begin() as conn:
        merged = (await conn.execute(text("SELECT payment_rollups_fold()"))).scalar_one()
    return Pass(int(merged), {"merged": int(merged)} if merged else {})
