"""Meter commands in the console: state, attempts and the head-end's answers, filtered by
utility, state and day; utility staff see only their own utility's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import sign_in, snapshot
from tests.headend.test_headend_delivery import (  # noqa: F401 (the fixtures)
    ACCOUNT,
    SECRET,
    HeadEndWorld,
    he,
    served,
)
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.headend.commands import decide
from utilipay.headend.config import configure
from utilipay.headend.wire import Action
from utilipay.staff.roles import Role

PAGE = "/console/meter-commands"


async def commands(he: HeadEndWorld) -> dict[str, str]:  # noqa: F811
    """Water: one executed, one rejected by the head-end, one not sent yet; gas (another
    utility on the same head-end): one executed. Their ids by meter."""
    executed = await he.decide("M-1")
    rejected = await he.decide("M-NORELAY")
    async with he.engine.begin() as conn:
        gas = await billers_service.add_biller(
            conn, he.clock, code="BJGAS", name="北京燃气", category=Category.GAS,
            mode=IntegrationMode.HOSTED, account_rule=r"[0-9]{10}", actor="test",
        )  # fmt: skip
        await configure(
            conn, he.clock, "BJGAS", url=he.url, secret=SECRET, connect_timeout=0.5,
            total_timeout=0.5, give_up_after=timedelta(minutes=10), actor="test",
        )  # fmt: skip
        cut_gas = await decide(
            conn, he.clock, biller_id=gas.id, meter_id="G-1", account_no=ACCOUNT,
            action=Action.DISCONNECT, decision_key="cut:G-1", reason="PREPAID_CUT",
        )  # fmt: skip
    await he.deliver()
    he.clock.advance(timedelta(days=1))
    pending = await he.decide("M-2", Action.RECONNECT)
    return {"M-1": executed.id, "M-NORELAY": rejected.id, "G-1": cut_gas.id, "M-2": pending.id}


async def test_operations_see_every_command_with_its_attempts_and_filter_them(
    page: Page,
    people: dict[Role, str],
    he: HeadEndWorld,  # noqa: F811
) -> None:
    ids = await commands(he)
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto(PAGE)
    table = page.locator("table")
    for command_id in ids.values():
        await expect(table).to_contain_text(command_id)
    executed = table.locator("tr", has_text=ids["M-1"])
    await expect(executed).to_contain_text("已执行")
    await executed.get_by_text("1 次发送").click()
    await expect(executed).to_contain_text("200 EXECUTED")
    rejected = table.locator("tr", has_text=ids["M-NORELAY"])
    await expect(rejected).to_contain_text("被拒绝")
    await expect(table.locator("tr", has_text=ids["M-2"])).to_contain_text("尚未发送")
    await snapshot(page, "meter-commands")

    await page.get_by_label("状态").select_option("EXECUTED")
    await page.get_by_role("button", name="筛选").click()
    await expect(table.locator("tbody tr")).to_have_count(2)  # M-1 and G-1
    await page.get_by_label("单位").select_option("BJGAS")
    await page.get_by_role("button", name="筛选").click()
    await expect(table.locator("tbody tr")).to_have_count(1)
    await expect(table).to_contain_text(ids["G-1"])

    await page.goto(f"{PAGE}?since=2026-11-23&until=2026-11-23")  # decided the next day
    await expect(table.locator("tbody tr")).to_have_count(1)
    await expect(table).to_contain_text(ids["M-2"])
    answer = await page.goto(f"{PAGE}?since=22-11-2026")
    assert answer is not None and answer.status == 400


async def test_utility_staff_see_only_their_utilitys_commands(
    page: Page,
    people: dict[Role, str],
    he: HeadEndWorld,  # noqa: F811
    engine: AsyncEngine,
) -> None:
    ids = await commands(he)
    staff = people[Role.UTILITY_STAFF]
    await sign_in(page, staff)
    await page.goto(PAGE)
    table = page.locator("table")
    await expect(table).to_contain_text(ids["M-1"])
    await expect(table).not_to_contain_text(ids["G-1"])
    await expect(page.get_by_label("单位").locator("option", has_text="BJGAS")).to_have_count(0)
    answer = await page.goto(f"{PAGE}?biller=BJGAS")
    assert answer is not None and answer.status == 403
    async with engine.connect() as conn:
        refused: list[Any] = list(
            await conn.execute(
                text("SELECT reason FROM audit_log WHERE action = 'console.refused'"
                     " AND actor = :a"), {"a": staff},
            )
        )  # fmt: skip
    assert [r.reason for r in refused] == [
        f"meter commands of BJGAS is outside {staff}'s utilities"
    ]


async def test_customer_service_may_not_open_meter_commands(
    page: Page, people: dict[Role, str]
) -> None:
    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    answer = await page.goto(PAGE)
    assert answer is not None and answer.status == 403
