"""The daily accrual (日结) of prepaid accounts: the tariff, the books, the state machine."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import WATER_RULE
from tests.helpers import ACCOUNT, install_meter, payment_body
from tests.prepaid.test_prepaid_topup import books_hold, events
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.prepaid import service as prepaid
from utilipay.prepaid.accrual import accrue_day, accrue_through
from utilipay.prepaid.cuts import cut_due, held_for_warning
from utilipay.prepaid.statements import issue_statements
from utilipay.prepaid.tasks import run_prepaid
from utilipay.tariffs import service as tariffs
from utilipay_tools.client import ChannelClient

NOV_1 = date(2026, 11, 1)


async def power_account(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    *,
    tariff: str = "BJ_ELEC_RES",
    accounts: tuple[str, ...] = (ACCOUNT,),
    start: date = NOV_1,
) -> None:
    """A hosted electricity biller on a Beijing tariff, its accounts prepaid from ``start``."""
    async with engine.begin() as conn:
        await billers_service.add_biller(
            conn, clock, code="BJPOWER", name="国网北京电力", category=Category.ELECTRICITY,
            mode=IntegrationMode.HOSTED, account_rule=WATER_RULE, region="110101", actor="test",
        )  # fmt: skip
        await tariffs.load_tariffs(conn, clock, None, "test")
        await tariffs.assign_tariff(
            conn, clock, biller="BJPOWER", customer_class="residential", tariff_code=tariff,
            effective_from=date(2026, 1, 1), actor="test",
        )  # fmt: skip
        for account_no in accounts:
            await conn.execute(
                text(
                    "INSERT INTO customer_accounts (biller_id, account_no, holder_name, address,"
                    " created_at, language) SELECT id, :a, '王五', '', now(), 'zh-CN'"
                    " FROM billers WHERE code = 'BJPOWER'"
                ),
                {"a": account_no},
            )
            await install_meter(conn, "BJPOWER", account_no, service="electricity")
            await prepaid.enroll(conn, clock, "BJPOWER", account_no, accrue_from=start, actor="t")
    await hub.directory.reload()


async def top_up(wechat: ChannelClient, order_id: str, amount: int, account: str = ACCOUNT) -> None:
    body = payment_body(order_id, amount=amount, bill_nos=..., biller="BJPOWER", account=account)
    r = await wechat.call("POST", "/v1/payments", json=body)
    assert r.status_code == 201, r.text


async def use(engine: AsyncEngine, day: date, kwh: str, account: str = ACCOUNT) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO daily_usage (biller_id, account_no, day, register, quantity,"
                " estimated) SELECT id, :a, :d, 'total', :q, false FROM billers"
                " WHERE code = 'BJPOWER'"
            ),
            {"a": account, "d": day, "q": Decimal(kwh)},
        )


async def accrue(engine: AsyncEngine, day: date, clock: FrozenClock) -> Any:
    async with engine.begin() as conn:
        return await accrue_day(conn, day, clock.now())


async def standing(engine: AsyncEngine, account: str = ACCOUNT) -> Any:
    async with engine.connect() as conn:
        query = text("SELECT * FROM prepaid_accounts WHERE account_no = :a")
        return (await conn.execute(query, {"a": account})).one()


async def posted(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        query = text("SELECT posted FROM prepaid_accruals ORDER BY day")
        return [r.posted for r in await conn.execute(query)]


async def test_a_month_of_days_costs_what_the_month_costs_246_kwh_is_120_42_yuan(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await power_account(engine, clock, hub)
    await top_up(wechat, "TOPUP-1", 50000)
    for n in range(29):
        await use(engine, NOV_1 + timedelta(days=n), "8")  # 232 kWh
    await use(engine, date(2026, 11, 30), "14")  # 246: six kWh in the second band
    done = await accrue_through(engine, clock, date(2026, 11, 30))
    assert [d.accounts for d in done] == [1] * 30
    days = await posted(engine)
    # one rounding: each day posts the rounded month to date minus the day before's
    assert days[:3] == [391, 390, 391]  # 3.9064 yuan a day, rounded as a running total
    assert sum(days) == 12042  # 240 × 0.4883 + 6 × 0.5383 = 120.42
    assert days[-1] == round(Decimal("120.42") * 100 - Decimal("232") * Decimal("48.83"))
    after = await standing(engine)
    assert (after.balance, after.state, after.band_usage) == (50000 - 12042, "NORMAL", 246)
    await same_as_the_tariff_function(engine)
    await books_hold(engine)


async def test_the_monthly_band_starts_again_and_the_annual_one_does_not(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await power_account(engine, clock, hub, tariff="BJ_ELEC_RES_YEAR", start=date(2026, 12, 31))
    await top_up(wechat, "TOPUP-1", 500000)
    async with engine.begin() as conn:  # as if 2,870 kWh were already used this year
        await conn.execute(
            text("UPDATE prepaid_accounts SET band_start = '2026-01-01', band_usage = 2870")
        )
    await use(engine, date(2026, 12, 31), "20")  # 10 at 0.4883, 10 at 0.5383
    await use(engine, date(2027, 1, 1), "20")  # a new year: all at 0.4883
    await accrue_through(engine, clock, date(2027, 1, 1))
    assert await posted(engine) == [1027, 977]
    assert (await standing(engine)).band_usage == 20
    await same_as_the_tariff_function(engine)
    await books_hold(engine)


async def same_as_the_tariff_function(engine: AsyncEngine) -> None:
    """The accrual prices blocks by a join; the calculator's SQL function must agree."""
    async with engine.connect() as conn:
        differ = await conn.execute(
            text(
                "SELECT day, exact_charge, tariff_energy_charge(tariff_version,"
                " band_usage - usage, usage, peak, flat, valley) AS by_function"
                " FROM prepaid_accruals"
                " WHERE exact_charge <> tariff_energy_charge(tariff_version, band_usage - usage,"
                " usage, peak, flat, valley)"
            )
        )
        assert differ.all() == []


async def test_a_day_without_its_reading_holds_the_later_days_back(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await power_account(engine, clock, hub)
    await top_up(wechat, "TOPUP-1", 50000)
    await use(engine, date(2026, 11, 2), "8")  # the 1st is missing
    assert (await accrue(engine, date(2026, 11, 2), clock)).accounts == 0
    await use(engine, NOV_1, "8")
    await accrue_through(engine, clock, date(2026, 11, 2))
    assert await posted(engine) == [391, 390]
    again = await accrue(engine, date(2026, 11, 2), clock)  # repeating a day does nothing
    assert (again.accounts, await posted(engine)) == (0, [391, 390])


async def test_an_account_without_a_tariff_is_reported_not_settled(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await power_account(engine, clock, hub)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE customer_accounts SET customer_class = 'commercial'"))
    await use(engine, NOV_1, "8")
    done = await accrue(engine, NOV_1, clock)
    assert (done.accounts, done.unpriced) == (0, 1)


async def test_the_three_messages_come_once_per_episode_and_the_cut_waits_for_working_hours(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await power_account(engine, clock, hub)
    await top_up(wechat, "TOPUP-1", 3000)  # 30 yuan; the reminder is at 20
    for n, kwh in enumerate(["10", "10", "10", "10", "10", "10", "10"]):
        await use(engine, NOV_1 + timedelta(days=n), kwh)  # 4.883 yuan a day
    await accrue_through(engine, clock, date(2026, 11, 7))
    states = await _states(engine)
    assert states == ["NORMAL", "NORMAL", "LOW", "LOW", "LOW", "LOW", "ARREARS"]
    assert [e["state"] for e in await events(engine, "prepaid.low")] == ["LOW"]
    (arrears,) = await events(engine, "prepaid.arrears")
    assert arrears["balance"] == (await standing(engine)).balance < 0

    # Saturday 2026-11-28 at noon: the grace (24 h) is over, but nobody is cut at a weekend
    clock.set(datetime(2026, 11, 28, 4, tzinfo=UTC))
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE prepaid_accounts SET state_since = :t"), {"t": START_DAY})
        assert await cut_due(conn, clock.now()) == 0
    clock.set(datetime(2026, 11, 30, 2, tzinfo=UTC))  # Monday 10:00 in Shanghai
    async with engine.begin() as conn:
        assert await cut_due(conn, clock.now()) == 1
        assert await cut_due(conn, clock.now()) == 0  # already cut
    (cut,) = await events(engine, "prepaid.cut")
    assert (cut["state"], cut["cuts"], cut["notify"]) == ("CUT", 1, True)

    await top_up(wechat, "TOPUP-2", 10000)
    assert [e["cuts"] for e in await events(engine, "prepaid.restored")] == [1]
    assert (await standing(engine)).state == "NORMAL"
    # a new episode: the fee warning comes again when the balance runs low again
    for n in range(7, 20):
        await use(engine, NOV_1 + timedelta(days=n), "20")
    await accrue_through(engine, clock, date(2026, 11, 20))
    assert len(await events(engine, "prepaid.low")) == 2
    assert len(await events(engine, "prepaid.arrears")) == 2
    await books_hold(engine)


START_DAY = datetime(2026, 11, 7, tzinfo=UTC)


async def test_nobody_is_cut_before_the_outage_warning_is_the_billers_grace_old(
    engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    """Enrolled at zero, an account is in ARREARS at once, but nobody has told the payer:
    the cut waits for the episode's outage warning (the first charge sends it) and then
    for the biller's own grace period (two hours here) counted from it."""
    await power_account(engine, clock, hub)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE billers SET prepaid_cut_grace_s = 7200"))
        await conn.execute(text("UPDATE prepaid_accounts SET state_since = :t"), {"t": START_DAY})

    async def cut() -> tuple[int, int]:
        async with engine.begin() as conn:
            return await cut_due(conn, clock.now()), await held_for_warning(conn, clock.now())

    clock.set(datetime(2026, 11, 24, 1, tzinfo=UTC))  # Tuesday 09:00 in Shanghai
    assert (await standing(engine)).state == "ARREARS"
    assert await cut() == (0, 1)  # in arrears for weeks, never warned
    await use(engine, NOV_1, "8")
    assert (await accrue(engine, NOV_1, clock)).notices == 1  # the outage warning goes out
    assert [e["state"] for e in await events(engine, "prepaid.arrears")] == ["ARREARS"]
    clock.advance(timedelta(hours=1, minutes=59))
    assert await cut() == (0, 1)  # warned, but less than the grace ago
    clock.advance(timedelta(minutes=1))
    assert await cut() == (1, 0)
    assert (await standing(engine)).state == "CUT"


async def _states(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        query = text(
            "SELECT prepaid_next_state('NORMAL', balance_after, 2000) AS s"
            " FROM prepaid_accruals ORDER BY day"
        )
        return [r.s for r in await conn.execute(query)]


async def test_an_account_a_top_up_holds_is_skipped_and_settled_by_the_next_run(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    accounts = ("0100000001", "0100000002")
    await power_account(engine, clock, hub, accounts=accounts)
    for n, account_no in enumerate(accounts):
        await top_up(wechat, f"T{n}", 10000, account=account_no)
        await use(engine, NOV_1, "8", account=account_no)
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with engine.begin() as conn:
            await conn.execute(
                text("SELECT 1 FROM prepaid_accounts WHERE account_no = :a FOR UPDATE"),
                {"a": accounts[0]},
            )
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await held.wait()
    first = await asyncio.wait_for(accrue(engine, NOV_1, clock), timeout=10)
    release.set()
    await holder
    second = await accrue(engine, NOV_1, clock)
    assert (first.accounts, second.accounts) == (1, 1)
    assert [(await standing(engine, a)).balance for a in accounts] == [10000 - 391] * 2
    await books_hold(engine)


async def test_the_monthly_statement_comes_once_the_month_is_settled_and_adds_up(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await power_account(engine, clock, hub, start=date(2026, 10, 30))
    await top_up(wechat, "TOPUP-1", 20000)  # on Nov 22 (the test clock)
    for n in range(33):  # Oct 30 to Dec 1
        await use(engine, date(2026, 10, 30) + timedelta(days=n), "8")
    await accrue_through(engine, clock, date(2026, 11, 29))
    async with engine.begin() as conn:
        assert await issue_statements(conn, date(2026, 10, 1), clock.now()) == 1
        assert await issue_statements(conn, date(2026, 11, 1), clock.now()) == 0  # not yet
    await accrue_through(engine, clock, date(2026, 11, 30))
    async with engine.begin() as conn:
        assert await issue_statements(conn, date(2026, 11, 1), clock.now()) == 1
        assert await issue_statements(conn, date(2026, 11, 1), clock.now()) == 0  # once
    october, november = await events(engine, "prepaid.statement")
    assert (october["month"], october["top_ups"], october["charges"], october["days"]) == (
        "2026-10", 0, 781, 2
    )  # fmt: skip
    assert october["closing_balance"] == -781 == november["opening_balance"]
    assert (november["top_ups"], november["charges"], november["usage"]) == (20000, 11719, 240)
    assert november["closing_balance"] == 20000 - 781 - 11719 == (await standing(engine)).balance


async def test_the_worker_pass_settles_through_yesterday_cuts_and_issues_statements(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await power_account(engine, clock, hub)
    await top_up(wechat, "TOPUP-1", 1000)  # ten yuan: in arrears within three days
    for n in range(31):  # Nov 1 to Dec 1
        await use(engine, NOV_1 + timedelta(days=n), "8")
    clock.set(datetime(2026, 12, 2, 2, tzinfo=UTC))  # Wednesday 10:00 in Shanghai
    done = await run_prepaid(engine, clock)
    assert [d.day for d in done.days][-1] == date(2026, 12, 1)  # yesterday, not today
    assert done.cut == 0  # in arrears since this very pass: the grace has just begun
    assert done.statements == 1  # November's
    clock.advance(timedelta(days=1))
    later = await run_prepaid(engine, clock)
    # no usage for Dec 2 yet: that day waits, and the pass says so
    assert ([d.accounts for d in later.days], later.cut, later.statements) == ([0], 1, 0)
    assert (later.waiting, later.waiting_since) == (1, date(2026, 12, 2))
    assert (done.waiting, done.waiting_since) == (0, None)
    assert (await standing(engine)).state == "CUT"
    await books_hold(engine)


async def test_the_accrual_gives_the_callers_planner_settings_back(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    """The accrual turns nested loops off for its own statements only: a caller's own
    transaction, before and after it, plans as it did."""
    await power_account(engine, clock, hub)
    await top_up(wechat, "TOPUP-1", 5000)
    await use(engine, NOV_1, "8")
    async with engine.begin() as conn:
        done = await accrue_day(conn, NOV_1, clock.now())
        assert (await conn.execute(text("SHOW enable_nestloop"))).scalar_one() == "on"
    assert done.accounts == 1
    await use(engine, NOV_1 + timedelta(days=1), "8")
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL enable_nestloop = off"))
        await accrue_day(conn, NOV_1 + timedelta(days=1), clock.now())
        assert (await conn.execute(text("SHOW enable_nestloop"))).scalar_one() == "off"
