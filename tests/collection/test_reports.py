"""The collection reports' figures, proven against bills imported and payments made through
the channel API (never aggregates written by hand): billed, collected and the rate, the
arrears by age, the channel mix; the business day's edges in Shanghai; a day closed by the
worker reads the same as the day computed live; empty and clipped periods; the scope."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import water
from tests.helpers import bill_line, import_bills, payment_body
from utilipay.clock import FrozenClock
from utilipay.collection import days
from utilipay.collection.schemas import Period, Report, ReportName, Scope
from utilipay.collection.service import build_report
from utilipay.collection.sums import rate
from utilipay.errors import DomainError, ErrorCode
from utilipay_tools.client import ChannelClient

DAY = date(2026, 11, 22)  # START's business date
EVERYONE = Scope(None, None)


async def report(
    engine: AsyncEngine,
    clock: FrozenClock,
    name: ReportName,
    start: date = DAY,
    end: date = DAY,
    scope: Scope = EVERYONE,
    by: str | None = None,
) -> Report:
    async with engine.connect() as conn:
        return await build_report(conn, clock, name, Period(start, end), scope, by=by)


def table(found: Report, key: str | None = None) -> list[dict[str, object]]:
    chosen = next(t for t in found.tables if key is None or t.key == key)
    return [dict(zip((c.key for c in chosen.columns), row, strict=True)) for row in chosen.rows]


async def pay(client: ChannelClient, order: str, bill_no: str, amount: int) -> None:
    body = payment_body(order, bill_nos=[bill_no], amount=amount)
    assert (await client.call("POST", "/v1/payments", json=body)).status_code == 201


@pytest.fixture
async def day_of_payments(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, alipay: ChannelClient
) -> None:
    """Three bills issued on DAY, two of them paid on DAY by two wallets."""
    await import_bills(
        engine, clock, bill_line("B1"), bill_line("B2", amount=700), bill_line("B3", amount=900)
    )
    await pay(wechat, "W1", "B1", 12345)
    await pay(alipay, "A1", "B2", 700)


@pytest.mark.usefixtures("day_of_payments")
async def test_billed_collected_and_the_rate_of_a_day(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    found = await report(engine, clock, ReportName.COLLECTION)
    assert table(found) == [
        {
            "group": "all",
            "billed_bills": 3,
            "billed": 12345 + 700 + 900,
            "payments": 2,
            "collected_bills": 2,
            "collected": 12345 + 700,
            "rate_count": rate(2, 3),
            "rate": rate(12345 + 700, 12345 + 700 + 900),
        }
    ]
    assert found.notes == ()
    by_channel = table(await report(engine, clock, ReportName.COLLECTION, by="channel"))
    assert [(r["group"], r["collected"], r["billed"]) for r in by_channel] == [
        ("ALIPAY", 700, None),
        ("WECHAT", 12345, None),
    ]
    mix = {r["class"]: (r["count"], r["amount"]) for r in table(
        await report(engine, clock, ReportName.CHANNEL_MIX))}  # fmt: skip
    assert mix["Wallet"] == (2, 13045)
    assert [c for c, (n, _) in mix.items() if n != 0] == ["Wallet"]


@pytest.mark.usefixtures("day_of_payments")
async def test_a_closed_day_reads_as_it_did_live_and_as_rebuilt(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    live = await report(engine, clock, ReportName.COLLECTION, by="channel")
    clock.advance(timedelta(days=1))
    assert (await days.close(engine, clock)).attempted == 1
    closed = await report(engine, clock, ReportName.COLLECTION, by="channel")
    assert closed.tables == live.tables
    assert await days.rebuild_days(engine, clock, DAY, DAY) == 1
    rebuilt = await report(engine, clock, ReportName.COLLECTION, by="channel")
    assert rebuilt.tables == live.tables
    assert (await days.close(engine, clock)).attempted == 0  # closed once


async def test_the_business_day_ends_at_midnight_in_shanghai(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient
) -> None:
    await import_bills(engine, clock, bill_line("B1", amount=100), bill_line("B2", amount=200))
    clock.set(datetime(2026, 11, 22, 15, 59, 59, tzinfo=UTC))  # 23:59:59 in Shanghai
    await pay(wechat, "W1", "B1", 100)
    clock.set(datetime(2026, 11, 22, 16, 0, 0, tzinfo=UTC))  # 00:00 on the 23rd
    await pay(wechat, "W2", "B2", 200)
    clock.advance(timedelta(days=1))
    first = table(await report(engine, clock, ReportName.COLLECTION, DAY, DAY))
    second = table(await report(engine, clock, ReportName.COLLECTION, DAY + timedelta(1),
                                DAY + timedelta(1)))  # fmt: skip
    assert (first[0]["collected"], second[0]["collected"]) == (100, 200)
    await days.close(engine, clock)
    assert table(await report(engine, clock, ReportName.COLLECTION, DAY, DAY)) == first


async def test_arrears_by_age_at_the_periods_end(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient
) -> None:
    await import_bills(
        engine,
        clock,
        bill_line("B1", amount=100, due="2026-11-10"),
        bill_line("B2", amount=200, due="2026-09-01", account="0100000002"),
        bill_line("B3", amount=400, due="2026-11-30"),
    )
    end = date(2026, 12, 5)
    clock.set(datetime(2026, 12, 6, 4, tzinfo=UTC))
    await pay(wechat, "W1", "B1", 100)  # paid after the period's end: still owed at its end
    rows = table(await report(engine, clock, ReportName.AGING, DAY, end))
    assert rows == [
        {"bucket": "0-30", "accounts": 1, "bills": 2, "amount": 500},
        {"bucket": "91-180", "accounts": 1, "bills": 1, "amount": 200},
        {"bucket": "all", "accounts": 2, "bills": 3, "amount": 700},
    ]
    await days.close(engine, clock)
    assert table(await report(engine, clock, ReportName.AGING, DAY, end)) == rows


async def test_an_empty_period_says_so_and_a_long_one_is_clipped(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    empty = await report(engine, clock, ReportName.COLLECTION)
    assert empty.empty
    assert empty.notes == (f"no figures in {DAY}..{DAY}",)
    await import_bills(engine, clock, bill_line("B1"))
    clipped = await report(engine, clock, ReportName.COLLECTION, date(2026, 1, 1), date(2027, 1, 1))
    assert clipped.period == Period(DAY, DAY)
    assert clipped.notes == (f"clipped to {DAY}..{DAY}, the days there are figures for",)
    assert table(clipped)[0]["billed"] == 12345


async def test_a_utility_the_reader_may_not_see_is_refused(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    biller_id = water(world).id
    with pytest.raises(DomainError) as refused:
        await report(engine, clock, ReportName.AGING, scope=Scope(biller_id, frozenset({999})))
    assert refused.value.code is ErrorCode.FORBIDDEN
    seen = await report(engine, clock, ReportName.AGING, scope=Scope(biller_id, None))
    assert seen.scope.biller_id == biller_id
