"""Incremental = rebuilt = live: whatever the times of bills and payments (around midnight
in Shanghai too) and whenever the worker's close runs, the days it stored are the rows a
rebuild of the range makes and the rows computed from the sources at the end."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.collection.test_reports import DAY, pay
from tests.helpers import bill_line, import_bills
from utilipay.clock import FrozenClock
from utilipay.collection import days, figures
from utilipay.collection.figures import DayRow
from utilipay_tools.client import ChannelClient

SHANGHAI_MIDNIGHT = datetime(2026, 11, 21, 16, tzinfo=UTC)  # 00:00 on DAY in Shanghai
DAYS = 4


async def stored(engine: AsyncEngine) -> set[DayRow]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT biller_id, business_date, metric, channel_id, outlet_id, key, n, bills,"
                " amount, seconds FROM collection_days WHERE metric <> 'prepaid-state'"
            )
        )
        return {figures.row(r) for r in rows}


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_closed_days_are_the_rebuilt_days_and_the_live_ones(
    engine: AsyncEngine,
    clock: FrozenClock,
    wechat: ChannelClient,
    alipay: ChannelClient,
    seed: int,
) -> None:
    chance = random.Random(seed)
    # instants over DAYS days, a third of them within minutes of a midnight
    instants = sorted(
        SHANGHAI_MIDNIGHT
        + timedelta(days=chance.randrange(DAYS))
        + (timedelta(seconds=chance.randrange(-300, 300)) if chance.random() < 0.33
           else timedelta(seconds=chance.randrange(86400)))
        for _ in range(24)
    )  # fmt: skip
    unpaid: list[tuple[str, int]] = []
    for n, instant in enumerate(instants):
        clock.set(max(instant, clock.now()))
        if unpaid and chance.random() < 0.5:
            bill_no, amount = unpaid.pop(chance.randrange(len(unpaid)))
            await pay(chance.choice((wechat, alipay)), f"O{n}", bill_no, amount)
        else:
            amount = chance.randrange(100, 50000)
            due = (DAY + timedelta(days=chance.randrange(-60, 3))).isoformat()
            await import_bills(engine, clock, bill_line(f"B{n}", amount=amount, due=due))
            unpaid.append((f"B{n}", amount))
        if chance.random() < 0.3:
            await days.close(engine, clock)
    clock.set(SHANGHAI_MIDNIGHT + timedelta(days=DAYS + 1, hours=1))
    await days.close(engine, clock)
    closed = await stored(engine)
    last = DAY + timedelta(days=DAYS)

    assert await days.rebuild_days(engine, clock, DAY - timedelta(days=1), last) == DAYS + 2
    assert await stored(engine) == closed
    async with engine.connect() as conn:
        billers = list((await conn.execute(text("SELECT id FROM billers"))).scalars())
        live = await figures.compute(conn, DAY - timedelta(days=1), last, billers, days.ALL_PARTS)
    assert set(live) == closed
    assert {r.metric for r in closed} >= {"billed", "paid", "aging"}
