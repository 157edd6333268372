"""The payments' minutes (payment_minutes, kept by the triggers of payments/sql/minutes.sql)
count the payments per minute of their creation, utility, channel and status, with their
latency (a sum and a cumulative histogram): after random concurrent writes and status
changes with folds meanwhile, the minutes equal a recount of the payments; the fold keeps
one row per key and drops the minutes past the retention; a read of a span and of the same
span on the days before sums the right minutes."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import START, channel, raw_connect, water
from tests.payments.history import write_payments
from tests.payments.test_rollups import INSERT
from utilipay.clock import FrozenClock
from utilipay.ledger.check import run_checks
from utilipay.payments import checks, minutes
from utilipay.payments.schemas import PaymentStatus

MINUTES_CHECK = [c for c in checks.CHECKS if c.name == "payment_minutes_count_the_payments"]
FIGURES = ("payments", "amount", "latency_ms", "within_500ms", "within_1s", "within_2s",
           "within_5s", "within_10s", "within_30s")  # fmt: skip
# the same figures, counted from the payments themselves
RECOUNT = """
SELECT biller_id, date_trunc('minute', created_at) AS minute, channel_id, status,
       count(*), sum(amount), coalesce(sum(ms), 0), count(*) FILTER (WHERE ms <= 500),
       count(*) FILTER (WHERE ms <= 1000), count(*) FILTER (WHERE ms <= 2000),
       count(*) FILTER (WHERE ms <= 5000), count(*) FILTER (WHERE ms <= 10000),
       count(*) FILTER (WHERE ms <= 30000)
  FROM payments
 CROSS JOIN LATERAL (SELECT extract(epoch FROM finished_at - created_at) * 1000 AS ms) l
 GROUP BY 1, 2, 3, 4
"""
SUMMED = f"""
SELECT biller_id, minute, channel_id, status, {", ".join(f"sum({f})" for f in FIGURES)}
  FROM payment_minutes GROUP BY 1, 2, 3, 4
HAVING sum(payments) <> 0 OR sum(latency_ms) <> 0
"""
FINISH = """
UPDATE payments SET status = $2, resolution = NULL, next_check_at = NULL,
       finished_at = created_at + $3 * interval '1 millisecond',
       receipt_no = CASE WHEN $2 = 'SUCCEEDED' THEN 'R-' || id END,
       failure_code = CASE WHEN $2 = 'FAILED' THEN 'DECLINED' END
 WHERE id = $1
"""


async def table(engine: AsyncEngine, sql: str) -> set[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return {tuple(r) for r in await conn.execute(text(sql))}


async def violations(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        (result,) = await run_checks(conn, MINUTES_CHECK)
    return result.violations


async def rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM payment_minutes"))).scalar_one())


async def test_the_minutes_equal_a_recount_after_random_concurrent_writes_and_folds(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], raw_dsn: Any
) -> None:
    biller, wx, ali = water(world).id, channel(world, "wechat").id, channel(world, "alipay").id
    writers = [await raw_connect(raw_dsn) for _ in range(6)]
    chance = random.Random(13)
    plans = [
        [(chance.choice((wx, ali)), chance.randrange(0, 300), chance.random()) for _ in range(30)]
        for _ in writers
    ]

    async def pay(conn: asyncpg.Connection, writer: int) -> None:
        for n, (channel_id, seconds, fate) in enumerate(plans[writer]):
            ident = f"P{writer}-{n}"
            async with conn.transaction():
                created = START + timedelta(seconds=seconds)
                await conn.execute(INSERT, biller, ident, channel_id, n + 1, created)
                if fate < 0.7:  # finished within a minute, or later, or never
                    status = "SUCCEEDED" if fate < 0.5 else "FAILED"
                    await conn.execute(FINISH, ident, status, int(fate * 60_000))
            if fate < 0.1:  # voided later: the payment moves again, its latency with it
                await conn.execute("UPDATE payments SET status = 'VOIDED' WHERE id = $1", ident)

    async def fold_meanwhile() -> None:
        for _ in range(20):
            await minutes.fold(engine, clock)
            await asyncio.sleep(0)

    try:
        await asyncio.gather(*(pay(c, w) for w, c in enumerate(writers)), fold_meanwhile())
    finally:
        for conn in writers:
            await conn.close()
    assert await table(engine, SUMMED) == await table(engine, RECOUNT)
    assert await violations(engine) == []
    await minutes.fold(engine, clock)
    assert await rows(engine) == len(await table(engine, RECOUNT))  # one row per key
    assert await table(engine, SUMMED) == await table(engine, RECOUNT)


async def test_a_span_and_the_same_span_on_the_days_before(
    engine: AsyncEngine, world: dict[str, object]
) -> None:
    biller, wx = water(world).id, channel(world, "wechat").id
    async with engine.begin() as conn:
        for back, n in [(0, 3), (1, 5), (2, 7), (3, 11)]:
            created = START - timedelta(days=back)
            await write_payments(conn, biller=biller, channel=wx, prefix=f"D{back}-", n=n,
                                 created=created, latency=timedelta(seconds=3))  # fmt: skip
        # one minute after the span, and a PROCESSING one in it
        await write_payments(conn, biller=biller, channel=wx, prefix="late-", n=1,
                             created=START + timedelta(minutes=15))  # fmt: skip
        await write_payments(conn, biller=biller, channel=wx, prefix="open-", n=1,
                             created=START, status="PROCESSING")  # fmt: skip
    async with engine.connect() as conn:
        spans = await minutes.spans(conn, START, START + timedelta(minutes=15), 2, None)
        until = START + timedelta(minutes=15)
        elsewhere = await minutes.spans(conn, START, until, 2, frozenset({biller + 1}))
    counted = {(s.days_back, s.status): (s.payments, s.latency_ms, s.within) for s in spans}
    assert counted == {
        (0, PaymentStatus.SUCCEEDED): (3, 9000, (0, 0, 0, 3, 3, 3)),
        (0, PaymentStatus.PROCESSING): (1, 0, (0,) * 6),
        (1, PaymentStatus.SUCCEEDED): (5, 15000, (0, 0, 0, 5, 5, 5)),
        (2, PaymentStatus.SUCCEEDED): (7, 21000, (0, 0, 0, 7, 7, 7)),
    }  # the third day back is not asked for
    assert elsewhere == []


async def test_the_fold_drops_the_minutes_past_the_retention(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    biller, wx = water(world).id, channel(world, "wechat").id
    async with engine.begin() as conn:
        for name, created in [("old", START - minutes.RETENTION - timedelta(minutes=1)),
                              ("kept", START - minutes.RETENTION), ("now", START)]:  # fmt: skip
            await write_payments(conn, biller=biller, channel=wx, prefix=name, n=2, created=created)
    await minutes.fold(engine, clock)
    kept = await table(engine, "SELECT minute, payments FROM payment_minutes")
    assert kept == {(START - minutes.RETENTION, 2), (START, 2)}
    assert await violations(engine) == []  # the check looks at the 14 days before the newest


async def test_the_check_names_minutes_that_drifted(
    engine: AsyncEngine, world: dict[str, object]
) -> None:
    biller, wx = water(world).id, channel(world, "wechat").id
    async with engine.begin() as conn:
        await write_payments(conn, biller=biller, channel=wx, prefix="P", n=1, created=START)
        await conn.execute(text("UPDATE payment_minutes SET latency_ms = 7"))
    (found,) = await violations(engine)
    assert "the minutes have 1 payments of 101 fen (7 ms, 1 within 5 s)" in found
    assert "the payments are 1 of 101 fen (200 ms, 1)" in found
