"""A group's report covers its branches, broken down by branch, utility and region; the
auto-pay report and the channel mix count the mandates and debits the auto-pay engine
made (signed through the channel API, debited by the channel simulator)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.autopay.test_autopay import run_until, sh, sign
from tests.collection.test_reports import DAY, pay, report, table
from tests.conftest import WATER_RULE, water
from tests.helpers import bill_line, import_bills
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.collection.schemas import ReportName, Scope
from utilipay_tools.client import ChannelClient


async def test_a_group_covers_its_branches_by_branch_utility_and_region(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], wechat: ChannelClient
) -> None:
    async with engine.begin() as conn:
        await billers_service.add_biller(
            conn, clock, code="BJWATER_DC", name="东城分公司", category=Category.WATER,
            mode=IntegrationMode.HOSTED, account_rule=WATER_RULE, account_hint="10 digits",
            region="110105", parent_code="BJWATER", actor="test",
        )  # fmt: skip
    branch = "BJWATER_DC,0100000009,李四,D1,2026-10,500,0,2026-11-30"
    await import_bills(engine, clock, bill_line("B1"), branch)
    await pay(wechat, "W1", "B1", 12345)
    group = Scope(water(world).id, None)

    by_branch = table(await report(engine, clock, ReportName.COLLECTION, scope=group,
                                   by="branch"))  # fmt: skip
    assert [(r["group"], r["billed"], r["collected"]) for r in by_branch] == [
        ("BJWATER", 12345, 12345),
        ("BJWATER_DC", 500, 0),
    ]
    by_utility = table(await report(engine, clock, ReportName.COLLECTION, by="biller"))
    assert [(r["group"], r["billed"]) for r in by_utility] == [("BJWATER", 12845)]
    by_region = table(await report(engine, clock, ReportName.COLLECTION, by="region"))
    assert [(r["group"], r["billed"]) for r in by_region] == [("110101", 12345), ("110105", 500)]


async def test_mandates_and_debits_taken_and_skipped_over_the_cap(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await import_bills(engine, clock, bill_line("B0"))
    await sign(wechat, cap=5000)
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B-BIG", amount=5001, period="2026-11"))
    await autopay.run_autopay()
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B-OK", amount=3000, period="2026-12"))
    await autopay.run_autopay()
    await run_until(autopay, clock, sh("2026-11-23 12:00"))
    day = date(2026, 11, 23)

    rows = {r["what"]: (r["count"], r["amount"]) for r in table(
        await report(engine, clock, ReportName.AUTOPAY, DAY, day))}  # fmt: skip
    assert rows["Mandates signed"] == (1, None)
    assert rows["Debits taken"] == (1, 3000)
    assert rows["Debits skipped over the cap"] == (1, 5001)
    assert rows["Debits declined"] == (0, 0)
    mix = {r["class"]: (r["count"], r["amount"]) for r in table(
        await report(engine, clock, ReportName.CHANNEL_MIX, DAY, day))}  # fmt: skip
    assert mix["Auto-pay"] == (1, 3000)
