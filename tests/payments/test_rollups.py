"""The payments' rollup (payment_rollups, kept by the triggers of payments/sql/rollups.sql)
is a count of the payments per business day, utility, channel and status: after payments
through the API, a status change, a fold, and payments written concurrently with folds;
and a payment's transaction never waits on another's for it."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import START, channel, raw_connect, water
from tests.helpers import bill_line, import_bills, payment_body
from utilipay.clock import FrozenClock
from utilipay.ledger.check import run_checks
from utilipay.payments import checks, rollups
from utilipay.payments.schemas import PaymentStatus
from utilipay_tools.client import ChannelClient

DAY = date(2026, 11, 22)  # START's business date
ROLLUP_CHECK = [c for c in checks.CHECKS if c.name == "payment_rollups_count_the_payments"]
# a payment as a channel's request leaves it, written straight into the table
INSERT = """
INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                      amount, currency, bill_nos, status, resolution, created_at, purpose)
VALUES ($1, $2, $3, $2, '\\x00', 'payer', '0100000001', $4, 'CNY', '{}', 'PROCESSING',
        'CONFIRMING', $5, 'bills')
"""
FINISH = """
UPDATE payments SET status = $2, resolution = NULL, finished_at = created_at,
       receipt_no = CASE WHEN $2 = 'SUCCEEDED' THEN 'R-' || id END,
       failure_code = CASE WHEN $2 = 'FAILED' THEN 'DECLINED' END
 WHERE id = $1
"""


async def execute(raw_dsn: Any, *statements: tuple[Any, ...]) -> None:
    """Each (SQL, arguments…) in turn, committed one by one, on a connection of its own."""
    conn = await raw_connect(raw_dsn)
    try:
        for sql, *arguments in statements:
            await conn.execute(sql, *arguments)
    finally:
        await conn.close()


async def differences(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        (result,) = await run_checks(conn, ROLLUP_CHECK)
    return result.violations


async def figures(engine: AsyncEngine, day: date = DAY) -> dict[tuple[int, str], tuple[int, int]]:
    async with engine.connect() as conn:
        counted = await rollups.days(conn, day, day, None)
    return {(c.channel_id, c.status): (c.payments, c.amount) for c in counted}


async def rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM payment_rollups"))).scalar_one())


async def test_payments_through_the_api_are_counted_per_channel_and_status(
    engine: AsyncEngine,
    clock: FrozenClock,
    world: dict[str, object],
    wechat: ChannelClient,
    alipay: ChannelClient,
) -> None:
    await import_bills(engine, clock, bill_line("B1"), bill_line("B2", amount=700))
    for client, body in [
        (wechat, payment_body("W1", bill_nos=["B1"])),
        (alipay, payment_body("A1", bill_nos=["B2"], amount=700)),
    ]:
        assert (await client.call("POST", "/v1/payments", json=body)).status_code == 201
    wx, ali = channel(world, "wechat").id, channel(world, "alipay").id
    assert await figures(engine) == {(wx, "SUCCEEDED"): (1, 12345), (ali, "SUCCEEDED"): (1, 700)}
    assert await figures(engine, DAY - timedelta(days=1)) == {}
    assert await differences(engine) == []


async def test_a_status_change_moves_the_payment_and_a_fold_keeps_the_figures(
    engine: AsyncEngine, world: dict[str, object], raw_dsn: Any
) -> None:
    biller, wx = water(world).id, channel(world, "wechat").id
    late = START + timedelta(hours=9)  # 00:30 the next day in Shanghai
    await execute(
        raw_dsn,
        *((INSERT, biller, f"P{n}", wx, 100 * (n + 1), START) for n in range(3)),
        (INSERT, biller, "P-next-day", wx, 1, late),
        (FINISH, "P1", "FAILED"),
        ("UPDATE payments SET next_check_at = $1 WHERE id = 'P0'", START),
    )
    expected = {(wx, "PROCESSING"): (2, 400), (wx, "FAILED"): (1, 200)}
    assert await figures(engine) == expected
    assert await figures(engine, DAY + timedelta(days=1)) == {(wx, "PROCESSING"): (1, 1)}
    assert await differences(engine) == []
    assert await rows(engine) == 6  # a row per insert (four), two for the move
    await rollups.fold(engine)
    assert await rows(engine) == 3  # one per key
    assert await figures(engine) == expected
    assert await differences(engine) == []
    await rollups.fold(engine)  # nothing left to fold: the same
    assert await rows(engine) == 3


async def test_concurrent_payments_never_wait_on_each_other_for_the_rollup(
    engine: AsyncEngine, world: dict[str, object], raw_dsn: Any
) -> None:
    biller, wx = water(world).id, channel(world, "wechat").id
    first, second = await raw_connect(raw_dsn), await raw_connect(raw_dsn)
    try:
        one = first.transaction()
        await one.start()
        await first.execute(INSERT, biller, "P-first", wx, 100, START)
        # the same key, while the first is not committed: no shared counter to wait for
        await second.execute("SET lock_timeout = '2s'")
        await second.execute(INSERT, biller, "P-second", wx, 200, START)
        await rollups.fold(engine)  # folds what is committed; the first's row stays
        await one.commit()
    finally:
        await first.close()
        await second.close()
    assert await figures(engine) == {(wx, "PROCESSING"): (2, 300)}
    assert await differences(engine) == []


async def test_the_rollup_equals_a_recount_under_concurrent_payments_and_folds(
    engine: AsyncEngine, world: dict[str, object], raw_dsn: Any
) -> None:
    biller, wx, ali = water(world).id, channel(world, "wechat").id, channel(world, "alipay").id
    writers = [await raw_connect(raw_dsn) for _ in range(6)]

    async def pay(conn: asyncpg.Connection, writer: int) -> None:
        for n in range(25):
            async with conn.transaction():
                ident = f"P{writer}-{n}"
                await conn.execute(INSERT, biller, ident, (wx, ali)[n % 2], n + 1, START)
                if n % 3 == 0:
                    await conn.execute(FINISH, ident, ("SUCCEEDED", "FAILED")[n % 2])

    async def fold_meanwhile() -> None:
        for _ in range(20):
            await rollups.fold(engine)
            await asyncio.sleep(0)

    try:
        await asyncio.gather(*(pay(c, w) for w, c in enumerate(writers)), fold_meanwhile())
    finally:
        for conn in writers:
            await conn.close()
    assert await differences(engine) == []
    counted = await figures(engine)
    assert sum(n for n, _ in counted.values()) == 6 * 25
    assert counted[(wx, PaymentStatus.SUCCEEDED)][0] == 6 * 5  # n = 0, 6, 12, 18, 24
    await rollups.fold(engine)
    assert await rows(engine) == len(counted)
    assert await differences(engine) == []


async def test_the_check_names_a_rollup_that_drifted(
    engine: AsyncEngine, world: dict[str, object], raw_dsn: Any
) -> None:
    biller, wx = water(world).id, channel(world, "wechat").id
    await execute(
        raw_dsn,
        (INSERT, biller, "P1", wx, 100, START),
        ("UPDATE payment_rollups SET payments = 2",),
    )
    (found,) = await differences(engine)
    assert "the rollup has 2 payments of 100 fen, the payments are 1 of 100 fen" in found
