"""Which accounts a bill run bills, and how: prepaid, idle, time-of-use, estimated, unread."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.billruns.test_billing_run_support import (
    POWER,
    Day,
    add_meter,
    add_power,
    add_usage,
    assign,
    bill_of,
    lines_of,
    month_days,
    open_accounts,
    rows,
    run,
    spread,
    usage_of,
)
from tests.helpers import import_bills
from utilipay.clock import FrozenClock
from utilipay.prepaid import service as prepaid

D = Decimal
OCT = "2026-10"
A, B, C = "1100000001", "1100000002", "1100000003"
TIME_OF_USE = """
[[tariff]]
code = "TEST_TOU"
name = "time of use with a fixed charge"
unit = "kWh"

[[tariff.version]]
effective_from = 2026-01-01
band_period = "month"
fixed_monthly_fen = 500
blocks = [{ up_to = 240, price = 0 }, { up_to = 400, price = 0.05 }, { price = 0.30 }]
rates = { peak = 0.5583, flat = 0.4883, valley = 0.3 }
"""


@pytest.fixture
async def power(engine: AsyncEngine, clock: FrozenClock) -> None:
    await add_power(engine, clock)
    await assign(engine, clock, POWER, "BJ_ELEC_RES")


@pytest.fixture
async def time_of_use(engine: AsyncEngine, clock: FrozenClock, tmp_path: Path) -> None:
    await add_power(engine, clock)
    path = tmp_path / "tou.toml"
    path.write_text(TIME_OF_USE)
    await assign(engine, clock, POWER, "TEST_TOU", tariff_file=path)


def registers(period: str, peak: int, flat: int, valley: int) -> list[Day]:
    """A month of register readings, the month's usage on its first day."""
    first, *rest = month_days(period)
    zero = D(0)
    return [Day(first, peak=D(peak), flat=D(flat), valley=D(valley))] + [
        Day(d, peak=zero, flat=zero, valley=zero) for d in rest
    ]


async def test_prepaid_days_are_left_to_the_daily_accrual(
    engine: AsyncEngine, clock: FrozenClock, power: None
) -> None:
    await open_accounts(engine, POWER, A, B)
    for account in (A, B):
        await add_meter(engine, POWER, account, datetime(2026, 1, 1, tzinfo=UTC))
    async with engine.begin() as conn:  # A all month, B from 16 October
        await prepaid.enroll(conn, clock, POWER, A, accrue_from=date(2026, 9, 1), actor="t")
        await prepaid.enroll(conn, clock, POWER, B, accrue_from=date(2026, 10, 16), actor="t")
    for account in (A, B):
        await add_usage(engine, POWER, account, [Day(d, D(10)) for d in month_days(OCT)])
    report = await run(engine, clock, POWER, OCT)
    assert (report.bills_issued, report.prepaid) == (1, 1)
    bill = await bill_of(engine, B, OCT)
    (segment,) = await usage_of(engine, bill.bill_no)
    assert (segment.first_day, segment.last_day, segment.usage) == (
        date(2026, 10, 1), date(2026, 10, 15), 150
    )  # fmt: skip
    assert bill.amount == 7325  # 150 x 0.4883 = 73.245 yuan


async def test_no_usage_is_no_bill_unless_a_fixed_charge_is_due(
    engine: AsyncEngine, clock: FrozenClock, time_of_use: None
) -> None:
    await open_accounts(engine, POWER, A)
    await open_accounts(engine, POWER, B, customer_class="flat_rate")
    await assign(engine, clock, POWER, "BJ_ELEC_RES", customer_class="flat_rate")
    await add_usage(engine, POWER, A, registers(OCT, 0, 0, 0))
    await add_usage(engine, POWER, B, spread(OCT, 0))
    report = await run(engine, clock, POWER, OCT)
    assert (report.bills_issued, report.nothing_due) == (1, 1)
    bill = await bill_of(engine, A, OCT)
    assert bill.amount == 500
    assert [
        (x.kind, x.register, x.units, x.exact_fen) for x in await lines_of(engine, bill.bill_no)
    ] == [
        ("register", "peak", 0, 0),
        ("register", "flat", 0, 0),
        ("register", "valley", 0, 0),
        ("fixed", None, None, 500),
    ]


async def test_time_of_use_registers_at_their_prices_plus_the_block_adders(
    engine: AsyncEngine, clock: FrozenClock, time_of_use: None
) -> None:
    await open_accounts(engine, POWER, A, B)
    await add_usage(engine, POWER, A, registers(OCT, 100, 100, 50))
    await add_usage(engine, POWER, B, spread(OCT, 250))  # a total only: cannot be priced
    report = await run(engine, clock, POWER, OCT)
    assert (report.bills_issued, report.unpriced) == (1, 1)
    bill = await bill_of(engine, A, OCT)
    # 100 x 0.5583 + 100 x 0.4883 + 50 x 0.3 = 119.66; adders 10 x 0.05 = 0.50; fixed 5.00
    assert bill.amount == 11966 + 50 + 500
    lines = [
        (x.kind, x.register, x.band, x.units, x.exact_fen)
        for x in await lines_of(engine, bill.bill_no)
    ]
    assert lines == [
        ("register", "peak", None, 100, D("5583")),
        ("register", "flat", None, 100, D("4883")),
        ("register", "valley", None, 50, D("1500")),
        ("band", None, 1, 240, 0),
        ("band", None, 2, 10, 50),
        ("fixed", None, None, None, 500),
    ]
    (segment,) = await usage_of(engine, bill.bill_no)
    assert (segment.peak, segment.flat, segment.valley, segment.usage) == (100, 100, 50, 250)


async def test_estimated_usage_is_billed_and_flagged(
    engine: AsyncEngine, clock: FrozenClock, power: None
) -> None:
    await open_accounts(engine, POWER, A, B)
    days = spread(OCT, 246)
    days[-1] = Day(days[-1].day, days[-1].total, estimated=True)  # the last day was estimated
    await add_usage(engine, POWER, A, days)
    await add_usage(engine, POWER, B, spread(OCT, 100))
    report = await run(engine, clock, POWER, OCT)
    assert (report.bills_issued, report.estimated) == (2, 1)
    flags = await rows(engine, "SELECT account_no, estimated FROM bill_usage ORDER BY 1")
    assert [tuple(f) for f in flags] == [(A, True), (B, False)]


async def test_an_account_waits_for_every_day_its_meters_were_in_service(
    engine: AsyncEngine, clock: FrozenClock, power: None
) -> None:
    await open_accounts(engine, POWER, A, B, C)
    await add_usage(engine, POWER, A, spread(OCT, 100)[:-1])  # 31 October not read yet
    # B's meter went in at 10:00 on 10 October: read from then on, it is complete
    await add_meter(engine, POWER, B, datetime(2026, 10, 10, 2, tzinfo=UTC))
    await add_usage(engine, POWER, B, [Day(d, D(5)) for d in month_days(OCT)[9:]])
    await add_meter(engine, POWER, C, datetime(2026, 1, 1, tzinfo=UTC))  # no readings at all
    report = await run(engine, clock, POWER, OCT)
    assert (report.bills_issued, report.awaiting_readings) == (1, 2)
    assert (await bill_of(engine, B, OCT)).amount == 5371  # 110 x 0.4883 = 53.713 yuan
    await add_usage(engine, POWER, A, spread(OCT, 100)[-1:])
    again = await run(engine, clock, POWER, OCT)
    assert (again.bills_issued, again.awaiting_readings, again.already_billed) == (1, 1, 1)
    assert (await bill_of(engine, A, OCT)).amount == 4883


async def test_a_class_without_a_tariff_is_not_billed(
    engine: AsyncEngine, clock: FrozenClock, power: None
) -> None:
    await open_accounts(engine, POWER, A, customer_class="business")
    await add_usage(engine, POWER, A, spread(OCT, 100))
    report = await run(engine, clock, POWER, OCT)
    assert (report.bills_issued, report.unpriced) == (0, 1)
    assert await rows(engine, "SELECT * FROM bills") == []


async def test_an_account_with_an_imported_bill_for_the_month_is_not_billed_again(
    engine: AsyncEngine, clock: FrozenClock, power: None
) -> None:
    await open_accounts(engine, POWER, A)
    await add_usage(engine, POWER, A, spread(OCT, 246))
    await import_bills(engine, clock, f"{POWER},{A},张三,E202610-1,{OCT},12000,0,2026-11-30")
    report = await run(engine, clock, POWER, OCT)
    assert (report.bills_issued, report.already_billed) == (0, 1)
    assert [b.bill_no for b in await rows(engine, "SELECT bill_no FROM bills")] == ["E202610-1"]


async def test_bill_numbers_are_one_per_account_and_month_and_fit_the_channel_api(
    engine: AsyncEngine, clock: FrozenClock, power: None
) -> None:
    odd = "户号 0001"  # not a bill number as channels send them
    await open_accounts(engine, POWER, A, odd)
    for account in (A, odd):
        await add_usage(engine, POWER, account, spread(OCT, 10))
    await run(engine, clock, POWER, OCT)
    numbers = [b.bill_no for b in await rows(engine, "SELECT bill_no FROM bills ORDER BY 1")]
    assert numbers[0] == f"M202610-{A}"
    assert re.fullmatch(r"M202610-[0-9a-f]{20}", numbers[1])
