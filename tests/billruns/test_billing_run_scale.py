"""How long a bill run takes over many accounts (slow: ``pytest -m slow``).

100,000 accounts (``UTILIPAY_BILLING_ACCOUNTS`` for another number), each with a
reading for every day of the month; the run's time by step is printed (``-s``).
The annual case also has ten earlier months billed, so the carried usage is looked
up for every account.
"""

from __future__ import annotations

import os
import time
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.billruns.test_billing_run_support import POWER, WATER, add_power, as_of_clock, assign
from utilipay.billruns.service import RunReport, run_billing
from utilipay.clock import FrozenClock

ACCOUNTS = int(os.environ.get("UTILIPAY_BILLING_ACCOUNTS", "100000"))
pytestmark = pytest.mark.slow


async def _seed(engine: AsyncEngine, biller: str, first: date, last: date) -> None:
    async with engine.begin() as conn:
        biller_id = (
            await conn.execute(text("SELECT id FROM billers WHERE code = :c"), {"c": biller})
        ).scalar_one()
        values = {"b": biller_id, "n": ACCOUNTS, "first": first, "last": last}
        await conn.execute(
            text(
                "INSERT INTO customer_accounts (biller_id, account_no, holder_name, address,"
                " created_at, language) SELECT :b, lpad(n::text, 10, '0'), '户主', '', now(),"
                " 'zh-CN' FROM generate_series(1, :n) n"
            ),
            values,
        )
        await conn.execute(
            text(
                "INSERT INTO daily_usage (biller_id, account_no, day, register, quantity,"
                " estimated) SELECT :b, lpad(n::text, 10, '0'), d::date, 'total',"
                " ((n * 7 + extract(day FROM d)::int) % 200) / 10.0, n % 50 = 0"
                " FROM generate_series(1, :n) n, generate_series(CAST(:first AS timestamp),"
                " CAST(:last AS timestamp), interval '1 day') d"
            ),
            values,
        )
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("ANALYZE"))


async def _timed_run(engine: AsyncEngine, clock: FrozenClock, biller: str, period: str) -> float:
    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    async with engine.begin() as conn:
        report: RunReport = await run_billing(
            conn, clock, biller=biller, period=period, actor="bench",
            step=lambda name: marks.append((name, time.perf_counter())),
        )  # fmt: skip
    elapsed = time.perf_counter() - started
    ends = [t for _, t in marks[1:]] + [started + elapsed]
    steps = ", ".join(f"{name} {end - t:.2f}s" for (name, t), end in zip(marks, ends, strict=True))
    print(f"\n{biller} {period}: {ACCOUNTS:,} accounts in {elapsed:.2f} s ({steps}); {report}")
    return elapsed


async def test_a_month_of_daily_readings_for_100k_accounts(engine: AsyncEngine) -> None:
    clock = as_of_clock(date(2026, 11, 1))
    await add_power(engine, clock)
    await assign(engine, clock, POWER, "BJ_ELEC_RES")
    await _seed(engine, POWER, date(2026, 10, 1), date(2026, 10, 31))
    first = await _timed_run(engine, clock, POWER, "2026-10")
    again = await _timed_run(engine, clock, POWER, "2026-10")
    async with engine.connect() as conn:
        bills, events = (
            await conn.execute(
                text("SELECT (SELECT count(*) FROM bills), (SELECT count(*) FROM outbox_events)")
            )
        ).one()
    assert bills == events == ACCOUNTS
    assert first < 60 and again < 60


async def test_annual_bands_carried_over_ten_months_for_100k_accounts(
    engine: AsyncEngine, world: dict[str, object]
) -> None:
    clock = as_of_clock(date(2026, 12, 1))
    await assign(engine, clock, WATER, "BJ_WATER_RES")
    await _seed(engine, WATER, date(2026, 11, 1), date(2026, 11, 30))
    async with engine.begin() as conn:  # January to October settled: 10 rows an account
        await conn.execute(
            text(
                "INSERT INTO billing_runs (biller_id, period, as_of, due_date, ran_at, actor)"
                " SELECT id, '2026-10', '2026-11-01', '2026-11-16', now(), 'seed' FROM billers"
                " WHERE code = :c"
            ),
            {"c": WATER},
        )
        await conn.execute(
            text(
                "INSERT INTO bill_usage (biller_id, account_no, period, segment, run_id,"
                " tariff_version, tariff_code, band_start, first_day, last_day, used_before,"
                " usage, estimated, exact_fen)"
                " SELECT r.biller_id, lpad(n::text, 10, '0'), '2026-' || lpad(m::text, 2, '0'),"
                " 1, r.id, v.id, v.tariff_code, '2026-01-01', make_date(2026, m, 1),"
                " make_date(2026, m, 1), 0, 15, false, 0"
                " FROM billing_runs r, tariff_versions v, generate_series(1, :n) n,"
                " generate_series(1, 10) m WHERE v.tariff_code = 'BJ_WATER_RES'"
            ),
            {"n": ACCOUNTS},
        )
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("ANALYZE"))
    await _timed_run(engine, clock, WATER, "2026-11")  # prints the figures
    async with engine.connect() as conn:
        carried = (
            await conn.execute(
                text("SELECT min(used_before), max(used_before) FROM bill_usage"
                     " WHERE period = '2026-11'")
            )
        ).one()  # fmt: skip
    assert tuple(carried) == (150, 150)
