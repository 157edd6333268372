"""The daily figures kept in ``collection_days``: each business day closed once by the
worker (``close``), rebuilt for a range on demand (``rebuild_days``: a generated year,
a repair), and read for a report with the days not closed yet computed live (``read``).

A day is closed when it ended ``SETTLE`` ago, so a payment whose transaction began
before midnight and committed after has been written by then.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.clock import Clock, business_date
from utilipay.collection import figures
from utilipay.collection.figures import DayRow
from utilipay.common.passes import Pass

SETTLE = timedelta(minutes=10)
MOST_DAYS_AT_ONCE = 31  # a close catching up does a month per transaction
ALL_PARTS = tuple(figures.PARTS)
REBUILT_METRICS = tuple(m for part in ALL_PARTS for m in figures.METRICS_OF_PART[part])

_BILLERS = text("SELECT id FROM billers_directory ORDER BY id")
_LAST_CLOSED = text("SELECT max(business_date) FROM collection_closed_days")
_CLOSED_IN = text(
    "SELECT business_date FROM collection_closed_days WHERE business_date BETWEEN :first AND :last"
)
_MARK_CLOSED = text(
    """
    INSERT INTO collection_closed_days (business_date, closed_at)
    SELECT g::date, :now FROM generate_series(CAST(:first AS date), CAST(:last AS date),
                                              interval '1 day') g
    ON CONFLICT (business_date) DO UPDATE SET closed_at = excluded.closed_at
    """
)
_FORGET = text(
    """
    DELETE FROM collection_days
     WHERE business_date BETWEEN :first AND :last AND metric = ANY (:metrics)
    """
)
_STORED = text(
    """
    SELECT biller_id, business_date, metric, channel_id, outlet_id, key, n, bills, amount,
           seconds
      FROM collection_days
     WHERE biller_id = ANY (:billers) AND business_date BETWEEN :first AND :last
       AND metric = ANY (:metrics)
    """
)


def _store(parts: Iterable[str], *, snapshot: bool) -> str:
    return (
        "INSERT INTO collection_days (biller_id, business_date, metric, channel_id, outlet_id,"
        " key, n, bills, amount, seconds) "
        + figures.statement(parts, snapshot=snapshot)
        + " ON CONFLICT (biller_id, business_date, metric, channel_id, outlet_id, key)"
        " DO UPDATE SET n = excluded.n, bills = excluded.bills, amount = excluded.amount,"
        " seconds = excluded.seconds"
    )


async def _billers(conn: AsyncConnection) -> list[int]:
    return list((await conn.execute(_BILLERS)).scalars())


def last_closable(clock: Clock) -> date:
    """The last business day that ended ``SETTLE`` ago or earlier."""
    return business_date(clock.now() - SETTLE) - timedelta(days=1)


async def close(engine: AsyncEngine, clock: Clock) -> Pass:
    """Close the business days not closed yet, up to the last closable one, a month per
    transaction (a pass of the worker). The first close begins at the first day with data;
    the day closed last gets the prepaid states of this moment."""
    closed = 0
    while True:
        async with engine.begin() as conn:
            # one closer at a time: the second waits, then finds the days done
            await conn.execute(text("LOCK TABLE collection_closed_days IN EXCLUSIVE MODE"))
            billers = await _billers(conn)
            last_closed = (await conn.execute(_LAST_CLOSED)).scalar_one()
            first = (
                last_closed + timedelta(days=1)
                if last_closed is not None
                else await figures.first_day(conn, billers)
            )
            last = last_closable(clock)
            if first is None or first > last:
                return Pass(closed, {"days": closed} if closed else {})
            last = min(last, first + timedelta(days=MOST_DAYS_AT_ONCE - 1))
            await _write(conn, clock, first, last, billers, snapshot=True)
            closed += (last - first).days + 1


async def _write(
    conn: AsyncConnection,
    clock: Clock,
    first: date,
    last: date,
    billers: list[int],
    *,
    snapshot: bool,
) -> None:
    params = figures.bounds(first, last, billers)
    await conn.execute(_FORGET, {"first": first, "last": last, "metrics": list(REBUILT_METRICS)})
    await conn.execute(text(_store(ALL_PARTS, snapshot=snapshot)), params)
    await conn.execute(_MARK_CLOSED, {"first": first, "last": last, "now": clock.now()})


async def rebuild_days(engine: AsyncEngine, clock: Clock, start: date, end: date) -> int:
    """(Re)make the rows of the business days ``start`` to ``end`` (both in; days not over
    yet are left to the close), a month per transaction, and mark them closed; how many
    days. The prepaid states, a snapshot of a moment, are kept as the close took them."""
    end = min(end, last_closable(clock))
    done = 0
    for first, last in _months(start, end):
        async with engine.begin() as conn:
            await _write(conn, clock, first, last, await _billers(conn), snapshot=False)
        done += (last - first).days + 1
    return done


def _months(start: date, end: date) -> Iterator[tuple[date, date]]:
    while start <= end:
        last = min(end, start + timedelta(days=MOST_DAYS_AT_ONCE - 1))
        yield start, last
        start = last + timedelta(days=1)


def _runs(days: list[date]) -> Iterator[tuple[date, date]]:
    """Consecutive days as (first, last) ranges."""
    days = sorted(days)
    while days:
        first = last = days.pop(0)
        while days and days[0] == last + timedelta(days=1):
            last = days.pop(0)
        yield first, last


async def read(
    conn: AsyncConnection,
    clock: Clock,
    billers: Iterable[int],
    first: date,
    last: date,
    parts: Iterable[str],
) -> list[DayRow]:
    """The rows of ``parts`` for the days ``first`` to ``last``: stored for the closed days,
    computed from the sources for the others (today, or days the close has not reached).
    Prepaid states are a snapshot: stored for a closed ``last``, taken now for today."""
    ids = sorted(billers)
    parts = tuple(parts)
    metrics = [m for p in parts for m in figures.METRICS_OF_PART.get(p, (p,))]
    closed = set((await conn.execute(_CLOSED_IN, {"first": first, "last": last})).scalars())
    rows: list[DayRow] = []
    if closed:
        stored = await conn.execute(
            _STORED, {"billers": ids, "first": first, "last": last, "metrics": metrics}
        )
        rows += [figures.row(r) for r in stored]
    live = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    computed = [p for p in parts if p in figures.PARTS]
    for run_first, run_last in _runs([d for d in live if d not in closed] if computed else []):
        rows += await figures.compute(conn, run_first, run_last, ids, computed)
    if "prepaid-state" in parts and last not in closed and last >= business_date(clock.now()):
        rows += await figures.compute(conn, last, last, ids, (), snapshot=True)
    return rows
