"""Helpers for the bill run tests (no tests here): a power and a water utility, their
tariffs, accounts and daily usage written as the readings import leaves it."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import install_meter
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.billruns.service import RunReport, run_billing
from utilipay.clock import FrozenClock
from utilipay.tariffs.service import assign_tariff, load_tariffs

D = Decimal
POWER, WATER = "BJPOWER", "BJWATER"
FROM_2026 = date(2026, 1, 1)


@dataclass(frozen=True, slots=True)
class Day:
    """One day of an account's usage: a total, or the three time-of-use registers."""

    day: date
    total: Decimal | None = None
    peak: Decimal | None = None
    flat: Decimal | None = None
    valley: Decimal | None = None
    estimated: bool = False

    def rows(self) -> list[tuple[str, Decimal]]:
        if self.total is not None:
            return [("total", self.total)]
        registers = [("peak", self.peak), ("flat", self.flat), ("valley", self.valley)]
        return [(name, value) for name, value in registers if value is not None]


async def add_power(engine: AsyncEngine, clock: FrozenClock) -> None:
    async with engine.begin() as conn:
        await billers_service.add_biller(
            conn, clock, code=POWER, name="国网北京市电力公司", category=Category.ELECTRICITY,
            mode=IntegrationMode.HOSTED, account_rule=r"[0-9]{10}", actor="test",
        )  # fmt: skip


async def assign(
    engine: AsyncEngine,
    clock: FrozenClock,
    biller: str,
    tariff: str,
    *,
    since: date = FROM_2026,
    customer_class: str = "residential",
    tariff_file: Path | None = None,
) -> None:
    async with engine.begin() as conn:
        await load_tariffs(conn, clock, tariff_file, "test")
        await assign_tariff(
            conn, clock, biller=biller, customer_class=customer_class, tariff_code=tariff,
            effective_from=since, actor="test",
        )  # fmt: skip


async def open_accounts(
    engine: AsyncEngine, biller: str, *accounts: str, customer_class: str = "residential"
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO customer_accounts (biller_id, account_no, holder_name, address,"
                " created_at, language, customer_class)"
                " SELECT id, a, '张三', '', now(), 'zh-CN', :class FROM billers,"
                " unnest(CAST(:accounts AS text[])) AS a WHERE code = :biller"
            ),
            {"accounts": list(accounts), "biller": biller, "class": customer_class},
        )


def month_days(period: str) -> list[date]:
    year, month = int(period[:4]), int(period[5:])
    return [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]


def spread(period: str, total: Decimal | int, *, estimated: bool = False) -> list[Day]:
    """A month's usage spread over its days to the 0.001 unit, the rest on the last day."""
    days = month_days(period)
    share = (D(total) / len(days)).quantize(D("0.001"), rounding="ROUND_DOWN")
    last = D(total) - share * (len(days) - 1)
    return [Day(d, share if d != days[-1] else last, estimated=estimated) for d in days]


async def add_usage(engine: AsyncEngine, biller: str, account: str, days: list[Day]) -> None:
    rows = [
        {"biller": biller, "a": account, "d": d.day, "r": register, "q": q, "e": d.estimated}
        for d in days
        for register, q in d.rows()
    ]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO daily_usage"
                " (biller_id, account_no, day, register, quantity, estimated)"
                " SELECT id, :a, :d, :r, :q, :e FROM billers WHERE code = :biller"
            ),
            rows,
        )


def as_of_clock(day: date) -> FrozenClock:
    """A clock at 10:00 in Shanghai on ``day``."""
    return FrozenClock(datetime(day.year, day.month, day.day, 2, tzinfo=UTC))


async def run(
    engine: AsyncEngine,
    clock: FrozenClock,
    biller: str,
    period: str,
) -> RunReport:
    async with engine.begin() as conn:
        return await run_billing(conn, clock, biller=biller, period=period, actor="ops")


def next_day(period: str) -> date:
    return month_days(period)[-1] + timedelta(days=1)


async def rows(engine: AsyncEngine, query: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(query), params)).all())


async def bill_of(engine: AsyncEngine, account: str, period: str) -> Any:
    (bill,) = await rows(
        engine, "SELECT * FROM bills WHERE account_no = :a AND period = :p", a=account, p=period
    )
    return bill


async def lines_of(engine: AsyncEngine, bill_no: str) -> list[Any]:
    return await rows(
        engine, "SELECT * FROM bill_lines WHERE bill_no = :b ORDER BY line", b=bill_no
    )


async def usage_of(engine: AsyncEngine, bill_no: str) -> list[Any]:
    return await rows(
        engine, "SELECT * FROM bill_usage WHERE bill_no = :b ORDER BY segment", b=bill_no
    )


async def add_meter(
    engine: AsyncEngine,
    biller: str,
    account: str,
    installed_at: datetime,
    removed_at: datetime | None = None,
) -> None:
    """A meter on the account, as the readings import records it."""
    async with engine.begin() as conn:
        await install_meter(
            conn, biller, account, service="electricity", since=installed_at, removed=removed_at
        )
