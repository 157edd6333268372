"""The payments of the last minutes per utility, channel and status, with their latency,
read from ``payment_minutes`` (kept by the triggers of ``sql/minutes.sql``): a span of
minutes and the same span on each of the days before it, in one read of the index on
the minute. What the anomaly monitoring (``metrics.anomalies``) compares.

The fold (``fold``, a worker pass) keeps the table at one row per key and drops the
minutes older than ``RETENTION``; a read sums a key's rows, so it is exact whether or not
the fold has run since the last payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.clock import Clock
from utilipay.common.passes import Pass
from utilipay.payments.schemas import PaymentStatus

# the histogram's columns and their upper bounds in seconds (cumulative: "at most")
LATENCY_BOUNDS: tuple[tuple[str, float], ...] = (
    ("within_500ms", 0.5),
    ("within_1s", 1.0),
    ("within_2s", 2.0),
    ("within_5s", 5.0),
    ("within_10s", 10.0),
    ("within_30s", 30.0),
)
# minutes kept: a baseline of up to 14 days back and the day of the window
RETENTION = timedelta(days=15)

_WITHIN = ", ".join(f"sum(m.{column}) AS {column}" for column, _ in LATENCY_BOUNDS)
# d.back = 0 is the span itself; the index on the minute is read once per day back
_SPANS = f"""
SELECT d.back, m.biller_id, m.channel_id, m.status, sum(m.payments) AS payments,
       sum(m.amount) AS amount, sum(m.latency_ms) AS latency_ms, {_WITHIN}
  FROM generate_series(0, :days_back) AS d(back)
  JOIN payment_minutes m
    ON m.minute >= CAST(:since AS timestamptz) - d.back * interval '1 day'
   AND m.minute < CAST(:until AS timestamptz) - d.back * interval '1 day'
 WHERE true {{scope}}
 GROUP BY 1, 2, 3, 4
HAVING sum(m.payments) <> 0 OR sum(m.latency_ms) <> 0
"""  # noqa: S608 - the constants above, never input
_IN_SCOPE = "AND m.biller_id = ANY(:billers)"


@dataclass(frozen=True, slots=True)
class MinuteCount:
    """The payments of one utility, channel and status created in a span of minutes."""

    days_back: int  # 0: the span asked for; n: the same span n days before
    biller_id: int
    channel_id: int
    status: PaymentStatus
    payments: int
    amount: int  # fen
    latency_ms: int  # summed over the finished ones
    within: tuple[int, ...]  # finished ones of at most each of LATENCY_BOUNDS


async def spans(
    conn: AsyncConnection,
    since: datetime,
    until: datetime,
    days_back: int,
    billers: frozenset[int] | None,
) -> list[MinuteCount]:
    """The payments created from ``since`` (in) to ``until`` (out), ``since`` and ``until``
    on whole minutes, and in the same span on each of the ``days_back`` days before: of every
    utility (``billers`` None) or of those given."""
    scope = "" if billers is None else _IN_SCOPE
    params: dict[str, object] = {"since": since, "until": until, "days_back": days_back}
    if billers is not None:
        params["billers"] = sorted(billers)
    rows = await conn.execute(text(_SPANS.format(scope=scope)), params)
    return [
        MinuteCount(
            r.back, r.biller_id, r.channel_id, PaymentStatus(r.status), int(r.payments),
            int(r.amount), int(r.latency_ms),
            tuple(int(r._mapping[column]) for column, _ in LATENCY_BOUNDS),
        )
        for r in rows
    ]  # fmt: skip


async def fold(engine: AsyncEngine, clock: Clock) -> Pass:
    """Merge each key's rows into one and drop the minutes past the retention (a pass of
    the worker); a figure of the minutes kept is the same after."""
    keep_from = clock.now() - RETENTION
    async with engine.begin() as conn:
        merged = (
            await conn.execute(text("SELECT payment_minutes_fold(:keep)"), {"keep": keep_from})
        ).scalar_one()
    return Pass(int(merged), {"merged": int(merged)} if merged else {})
