"""Spreading a span's usage over Shanghai days, and a big file (slow)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.readings.test_readings_reads import (
    METERS_HEADER,
    READS_HEADER,
    import_data,
    power_biller,
)
from utilipay.clock import SHANGHAI, FrozenClock
from utilipay.readings.spread import spread

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_span_from_midnight_to_midnight_is_one_day() -> None:
    start = datetime(2026, 11, 20, tzinfo=SHANGHAI)
    (share,) = spread(start, start + timedelta(days=1), Decimal("7.5"))
    assert (share.day, share.quantity, share.covered) == (
        date(2026, 11, 20), Decimal("7.5"), timedelta(days=1)
    )  # fmt: skip


def test_a_span_is_shared_by_time() -> None:
    start = datetime(2026, 11, 20, 18, tzinfo=SHANGHAI)
    shares = spread(start, start + timedelta(hours=36), Decimal("10.000"))
    assert [(s.day.day, s.quantity, s.covered.total_seconds() / 3600) for s in shares] == [
        (20, Decimal("1.667"), 6),
        (21, Decimal("6.666"), 24),  # 7.667 so far, rounded, less the 1.667 before
        (22, Decimal("1.667"), 6),
    ]


@given(
    start=st.integers(0, 400 * 86400 * 10**6),
    length=st.integers(1, 90 * 86400 * 10**6),
    thousandths=st.integers(0, 10**14 - 1),
)
def test_shares_add_up_and_cover_the_span(start: int, length: int, thousandths: int) -> None:
    begin = T0 + timedelta(microseconds=start)
    end = begin + timedelta(microseconds=length)
    quantity = Decimal(thousandths) / 1000
    shares = spread(begin, end, quantity)
    assert sum(s.quantity for s in shares) == quantity
    assert all(s.quantity >= 0 for s in shares)
    assert sum((s.covered for s in shares), timedelta()) == end - begin
    assert all(timedelta(0) < s.covered <= timedelta(days=1) for s in shares)
    days = [s.day for s in shares]
    assert days == sorted(set(days)) and days[0] == begin.astimezone(SHANGHAI).date()


@pytest.mark.slow
async def test_a_big_reads_file(engine: AsyncEngine, clock: FrozenClock) -> None:
    """5,000 meters read at midnight for 40 days: 200,000 lines in one all-or-nothing
    import; prints how long it took."""
    meters, days = 5000, 40
    await power_biller(engine, clock)
    meter_lines = [
        f"BJPOWER,{n:010d},户{n},B{n},electricity,kWh,total,8,1,2026-01-01T00:00:00+08:00,"
        for n in range(meters)
    ]
    await import_data(engine, clock, "\n".join([METERS_HEADER, *meter_lines, ""]).encode())
    first = date(2026, 10, 1)
    read_lines = [
        f"BJPOWER,B{n},total,{first + timedelta(days=d)}T00:00:00+08:00,{d * (n % 17 + 1)},"
        for d in range(days)
        for n in range(meters)
    ]
    data = "\n".join([READS_HEADER, *read_lines, ""]).encode()
    started = time.perf_counter()
    report = await import_data(engine, clock, data, source="big.csv")
    elapsed = time.perf_counter() - started
    print(f"\n{len(read_lines):,} reads ({len(data) / 1e6:.1f} MB) imported in {elapsed:.1f} s")
    assert report.counts["added"] == meters * days
    assert report.counts["days"] == meters * (days - 1)
    async with engine.connect() as conn:
        total = (await conn.execute(text("SELECT sum(quantity) FROM daily_usage"))).scalar()
    assert total == sum((days - 1) * (n % 17 + 1) for n in range(meters))
