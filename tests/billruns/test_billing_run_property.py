"""A bill run in SQL and the reference calculator in Python give the same bills, fen for fen.

Random tariffs (blocks, time-of-use, monthly or annual bands, a fixed charge) and two
months of usage: September's bill is the calculator's charge of September, rounded
once, plus the fixed charge; October's counts September's usage first when the bands
are annual. The lines are the calculator's lines.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.billruns.test_billing_run_support import POWER
from tests.conftest import START
from tests.tariffs.test_tariffs_calculator import usages, versions
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.billruns.service import run_billing
from utilipay.clock import FrozenClock
from utilipay.tariffs import store
from utilipay.tariffs.calculator import Charge, Usage, energy_charge, to_fen
from utilipay.tariffs.model import ZERO, BandPeriod, TariffVersion

ACCOUNT = "1100000009"
MONTHS = (
    ("2026-09", date(2026, 9, 1), date(2026, 9, 30)),
    ("2026-10", date(2026, 10, 1), date(2026, 10, 31)),
)


async def _setup(conn: AsyncConnection, clock: FrozenClock, version: TariffVersion) -> None:
    await billers_service.add_biller(
        conn, clock, code=POWER, name="电力", category=Category.ELECTRICITY,
        mode=IntegrationMode.HOSTED, account_rule=r"[0-9]{10}", actor="t",
    )  # fmt: skip
    await conn.execute(text("INSERT INTO tariffs VALUES ('TEST', 'test', 'kWh', now())"))
    assert await store.insert_version(conn, version, at=START, actor="t") is not None
    await conn.execute(
        text(
            "INSERT INTO tariff_assignments SELECT id, 'prop', '2026-01-01', 'TEST', now(), 't'"
            " FROM billers WHERE code = :c;"
        ),
        {"c": POWER},
    )
    await conn.execute(
        text(
            "INSERT INTO customer_accounts (biller_id, account_no, holder_name, created_at,"
            " language, customer_class) SELECT id, :a, '张三', now(), 'zh-CN', 'prop'"
            " FROM billers WHERE code = :c"
        ),
        {"a": ACCOUNT, "c": POWER},
    )


async def _read(conn: AsyncConnection, first: date, last: date, usage: Usage) -> None:
    """The month's usage on its first day, zero on the others (every day is read)."""
    by_register = usage.registers or (("total", usage.total),)
    await conn.execute(
        text(
            "INSERT INTO daily_usage (biller_id, account_no, day, register, quantity, estimated)"
            " SELECT b.id, :a, d::date, r.register, CASE WHEN d = :first THEN r.q ELSE 0 END,"
            " false FROM billers b, generate_series(CAST(:first AS timestamp),"
            " CAST(:last AS timestamp), interval '1 day') AS d,"
            " unnest(CAST(:registers AS text[]), CAST(:quantities AS numeric[])) AS r(register, q)"
            " WHERE b.code = :c"
        ),
        {
            "a": ACCOUNT, "c": POWER, "first": first, "last": last,
            "registers": [str(r) for r, _ in by_register],
            "quantities": [q for _, q in by_register],
        },
    )  # fmt: skip


def _expected_lines(charge: Charge, fixed: int) -> list[tuple[Any, ...]]:
    lines: list[tuple[Any, ...]] = [
        ("register", r.register.value, None, r.units, r.price, r.exact_fen)
        for r in charge.registers
    ]
    lines += [
        ("band", None, (b.band, b.lower, b.upper, b.start, b.end), b.units, b.price, b.exact_fen)
        for b in charge.bands
    ]
    return lines + ([("fixed", None, None, None, None, fixed)] if fixed else [])


async def _stored_lines(conn: AsyncConnection, bill_no: str) -> list[tuple[Any, ...]]:
    found = await conn.execute(
        text("SELECT * FROM bill_lines WHERE bill_no = :b ORDER BY line"), {"b": bill_no}
    )
    return [
        (
            x.kind, x.register,
            None if x.band is None
            else (x.band, x.lower_bound, x.upper_bound, x.from_units, x.to_units),
            x.units, x.price, x.exact_fen,
        )
        for x in found
    ]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(data=st.data())
async def test_sql_bills_are_the_calculators(engine: AsyncEngine, data: st.DataObject) -> None:
    version = replace(data.draw(versions()), fixed_monthly=data.draw(st.sampled_from([0, 1, 500])))
    months = [data.draw(usages(version.is_time_of_use)) for _ in MONTHS]
    clock = FrozenClock(START)
    used_before = ZERO
    async with engine.connect() as conn:
        await conn.begin()
        try:
            await _setup(conn, clock, version)
            for (period, first, last), usage in zip(MONTHS, months, strict=True):
                await _read(conn, first, last, usage)
                await run_billing(conn, clock, biller=POWER, period=period, actor="t")
                charge = energy_charge(version, usage, used_before)
                amount = to_fen(charge.exact_fen) + version.fixed_monthly
                bill = (
                    await conn.execute(
                        text("SELECT bill_no, amount FROM bills WHERE period = :p"), {"p": period}
                    )
                ).one_or_none()
                assert (bill.amount if bill else 0) == amount
                if bill:
                    expected = _expected_lines(charge, version.fixed_monthly)
                    assert await _stored_lines(conn, bill.bill_no) == expected
                if version.band_period is BandPeriod.YEAR:
                    used_before += usage.total
        finally:
            await conn.rollback()
