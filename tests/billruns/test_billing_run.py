"""The monthly bill run: readings through the tariff into bills, once, with their detail."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.billruns.test_billing_run_support import (
    POWER,
    WATER,
    Day,
    add_power,
    add_usage,
    as_of_clock,
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
from utilipay.billers import repository as billers_repo
from utilipay.billers import service as billers_service
from utilipay.billers.protocol.framing import SignType
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.billers.service import RemoteSettings
from utilipay.billing.schemas import Bill, BillRow
from utilipay.billing.service import _issued
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError, ErrorCode

D = Decimal
ACCOUNT = "1100000001"
OCT = "2026-10"


@pytest.fixture
async def power(engine: AsyncEngine, clock: FrozenClock) -> None:
    """BJPOWER, its residential class on the monthly Beijing tariff."""
    await add_power(engine, clock)
    await assign(engine, clock, POWER, "BJ_ELEC_RES")


async def test_246_kwh_in_october_is_a_bill_of_120_42_yuan(
    engine: AsyncEngine, power: None
) -> None:
    await open_accounts(engine, POWER, ACCOUNT)
    await add_usage(engine, POWER, ACCOUNT, spread(OCT, 246))
    clock = as_of_clock(date(2026, 11, 1))
    report = await run(engine, clock, POWER, OCT)
    assert (report.as_of, report.period, report.biller) == (date(2026, 11, 1), OCT, POWER)
    assert (report.bills_issued, report.amount, report.due_date) == (1, 12042, date(2026, 11, 16))

    bill = await bill_of(engine, ACCOUNT, OCT)
    assert (bill.bill_no, bill.amount, bill.late_fee, bill.status) == (
        "M202610-1100000001", 12042, 0, "UNPAID"
    )  # fmt: skip
    assert (bill.due_date, bill.issued_at, bill.currency) == (
        date(2026, 11, 16), clock.now(), "CNY"
    )  # fmt: skip
    # 240 x 0.4883 + 6 x 0.5383 = 117.192 + 3.2298 = 120.4218 yuan, billed 120.42
    assert [
        (x.kind, x.band, x.from_units, x.to_units, x.units, x.price, x.exact_fen)
        for x in await lines_of(engine, bill.bill_no)
    ] == [
        ("band", 1, 0, 240, 240, D("0.4883"), D("11719.2")),
        ("band", 2, 240, 246, 6, D("0.5383"), D("322.98")),
    ]
    (segment,) = await usage_of(engine, bill.bill_no)
    assert (segment.usage, segment.used_before, segment.exact_fen, segment.estimated) == (
        246, 0, D("12042.18"), False
    )  # fmt: skip
    assert (segment.first_day, segment.last_day, segment.band_start) == (
        date(2026, 10, 1), date(2026, 10, 31), date(2026, 10, 1)
    )  # fmt: skip


async def test_the_bill_issued_event_is_the_one_a_bill_import_emits(
    engine: AsyncEngine, clock: FrozenClock, power: None
) -> None:
    await open_accounts(engine, POWER, ACCOUNT)
    await add_usage(engine, POWER, ACCOUNT, spread(OCT, 246))
    await run(engine, clock, POWER, OCT)
    bill = await bill_of(engine, ACCOUNT, OCT)
    (event,) = await rows(engine, "SELECT * FROM outbox_events WHERE event_type = 'bill.issued'")
    async with engine.connect() as conn:
        biller = await billers_repo.by_code(conn, POWER)
    assert biller is not None
    imported = _issued(
        biller,
        BillRow(
            1, POWER, ACCOUNT, "张三", Bill(bill.bill_no, ACCOUNT, OCT, 12042, 0, bill.due_date)
        ),
        clock.now(),
    )
    assert (event.biller_id, event.aggregate_id, event.payload, event.occurred_at) == (
        imported.biller_id, imported.aggregate_id, imported.payload, imported.occurred_at
    )  # fmt: skip


async def test_a_second_run_bills_nobody_twice(
    engine: AsyncEngine, clock: FrozenClock, power: None
) -> None:
    await open_accounts(engine, POWER, ACCOUNT, "1100000002")
    await add_usage(engine, POWER, ACCOUNT, spread(OCT, 246))
    first = await run(engine, clock, POWER, OCT)
    await add_usage(engine, POWER, "1100000002", spread(OCT, 100))  # its readings came late
    second = await run(engine, clock, POWER, OCT)
    third = await run(engine, clock, POWER, OCT)
    assert [(r.bills_issued, r.already_billed) for r in (first, second, third)] == [
        (1, 0), (1, 1), (0, 2)
    ]  # fmt: skip
    assert len({first.run_id, second.run_id, third.run_id}) == 3
    bills = await rows(engine, "SELECT account_no, amount FROM bills ORDER BY account_no")
    assert [tuple(b) for b in bills] == [(ACCOUNT, 12042), ("1100000002", 4883)]
    events = await rows(engine, "SELECT aggregate_id FROM outbox_events")
    assert len(events) == 2
    recorded = await rows(
        engine, "SELECT bills_issued, already_billed FROM billing_runs ORDER BY id"
    )
    assert [tuple(r) for r in recorded] == [(1, 0), (1, 1), (0, 2)]


async def test_refusals_write_nothing(engine: AsyncEngine, clock: FrozenClock, power: None) -> None:
    async with engine.begin() as conn:
        await billers_service.add_biller(
            conn, clock, code="SHPOWER", name="remote power", category=Category.ELECTRICITY,
            mode=IntegrationMode.REMOTE, account_rule=r"[0-9]{10}",
            remote=RemoteSettings(url="http://127.0.0.1:9", key="remote-key-0123456789",
                                  sign_type=SignType.HMAC_SHA256),
            actor="test",
        )  # fmt: skip
    halloween = as_of_clock(date(2026, 10, 31))
    cases = [
        (
            "SHPOWER",
            OCT,
            clock,
            ErrorCode.MALFORMED_REQUEST,
            r"SHPOWER keeps its own books \(remote\): the hub bills only for a hosted",
        ),
        ("NOPE", OCT, clock, ErrorCode.BILLER_NOT_FOUND, "biller NOPE not found"),
        (POWER, "2026-13", clock, ErrorCode.MALFORMED_REQUEST, "period '2026-13' must be YYYY-MM"),
        (POWER, "2026-11", clock, ErrorCode.NOT_READY, "runs to 2026-11-30"),
        (POWER, OCT, halloween, ErrorCode.NOT_READY, "bill it as of 2026-11-01 or later"),
    ]
    for biller, period, at, code, message in cases:
        with pytest.raises(DomainError, match=message) as refused:
            await run(engine, at, biller, period)
        assert refused.value.code is code
    assert await rows(engine, "SELECT * FROM billing_runs") == []


async def test_water_bands_are_carried_across_the_year(
    engine: AsyncEngine, world: dict[str, object]
) -> None:
    clock = as_of_clock(date(2027, 2, 1))
    await assign(engine, clock, WATER, "BJ_WATER_RES")
    await open_accounts(engine, WATER, "0112345678")
    periods = [f"2026-{m:02}" for m in range(1, 13)] + ["2027-01"]
    for period in periods:  # 25 m3 a month: 300 m3 in 2026
        await add_usage(engine, WATER, "0112345678", spread(period, 25))
    for period in periods:
        assert (await run(engine, clock, WATER, period)).bills_issued == 1
    bills = await rows(engine, "SELECT period, amount FROM bills ORDER BY period")
    # ≤180 m3 at 5, 181-260 at 7, above at 9 yuan, counted over the calendar year
    assert [b.amount for b in bills] == [12500] * 7 + [
        16500,  # August: 175 → 200 m3, 5 at 5 and 20 at 7
        17500,
        17500,
        20500,  # November: 250 → 275 m3, 10 at 7 and 15 at 9
        22500,
        12500,  # January 2027: a new year starts at band 1
    ]
    # the year's bills add up to 300 m3 priced at once: 180 x 5 + 80 x 7 + 40 x 9
    assert sum(b.amount for b in bills[:12]) == 182000
    august = "M202608-0112345678"
    (segment,) = await usage_of(engine, august)
    assert (segment.used_before, segment.usage, segment.band_start) == (
        175, 25, date(2026, 1, 1)
    )  # fmt: skip
    assert [
        (x.band, x.from_units, x.to_units, x.units) for x in await lines_of(engine, august)
    ] == [
        (1, 175, 180, 5),
        (2, 180, 200, 20),
    ]
    (january,) = await usage_of(engine, "M202701-0112345678")
    assert (january.used_before, january.band_start) == (0, date(2027, 1, 1))


async def test_annual_electricity_crosses_2880_kwh_in_december_rounded_once_a_bill(
    engine: AsyncEngine,
) -> None:
    clock = as_of_clock(date(2027, 1, 1))
    await add_power(engine, clock)
    await assign(engine, clock, POWER, "BJ_ELEC_RES_YEAR")
    await open_accounts(engine, POWER, ACCOUNT)
    periods = [f"2026-{m:02}" for m in range(1, 13)]
    for period in periods:
        await add_usage(engine, POWER, ACCOUNT, spread(period, 250))
        await run(engine, clock, POWER, period)
    bills = await rows(engine, "SELECT amount FROM bills ORDER BY period")
    # 250 x 0.4883 = 122.075 yuan, billed 122.08; December: 130 x 0.4883 + 120 x 0.5383
    assert [b.amount for b in bills] == [12208] * 11 + [12808]


async def test_a_month_billed_after_a_later_one_of_the_same_year_waits(
    engine: AsyncEngine, world: dict[str, object]
) -> None:
    clock = as_of_clock(date(2026, 12, 1))
    await assign(engine, clock, WATER, "BJ_WATER_RES")
    await open_accounts(engine, WATER, "0112345678")
    for period in (OCT, "2026-11"):
        await add_usage(engine, WATER, "0112345678", spread(period, 10))
    assert (await run(engine, clock, WATER, "2026-11")).bills_issued == 1
    late = await run(engine, clock, WATER, OCT)
    assert (late.bills_issued, late.out_of_order) == (0, 1)


async def test_a_price_change_mid_month_bills_each_part_at_its_prices(
    engine: AsyncEngine, clock: FrozenClock, tmp_path: Path
) -> None:
    await add_power(engine, clock)
    prices = tmp_path / "step.toml"
    prices.write_text(STEPPED)
    await assign(engine, clock, POWER, "TEST_STEP", tariff_file=prices)
    await open_accounts(engine, POWER, ACCOUNT)
    await add_usage(engine, POWER, ACCOUNT, [Day(d, D(10)) for d in month_days(OCT)])
    await run(engine, clock, POWER, OCT)
    bill = await bill_of(engine, ACCOUNT, OCT)
    segments = await usage_of(engine, bill.bill_no)
    assert [(s.first_day.day, s.last_day.day, s.used_before, s.usage) for s in segments] == [
        (1, 15, 0, 150),
        (16, 31, 150, 160),  # the month's bands go on where the first prices left them
    ]
    # 150 x 0.5 = 75; then 90 x 0.6 + 70 x 1.2 = 54 + 84: 213 yuan
    assert bill.amount == 21300
    assert [
        (x.segment, x.band, x.units, x.price) for x in await lines_of(engine, bill.bill_no)
    ] == [
        (1, 1, 150, D("0.5")),
        (2, 1, 90, D("0.6")),
        (2, 2, 70, D("1.2")),
    ]


STEPPED = """
[[tariff]]
code = "TEST_STEP"
name = "prices that change on 16 October"
unit = "kWh"

[[tariff.version]]
effective_from = 2026-01-01
band_period = "month"
blocks = [{ up_to = 240, price = 0.5 }, { price = 1.0 }]

[[tariff.version]]
effective_from = 2026-10-16
band_period = "month"
blocks = [{ up_to = 240, price = 0.6 }, { price = 1.2 }]
"""
