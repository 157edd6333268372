"""The dashboard's payment anomalies in a real browser: operations see every utility's
(and the totals over utilities and channels), utility staff only their utility's; a hub
where every channel is as usual says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Locator, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import WATER_RULE, channel, water
from tests.console.conftest import sign_in, snapshot
from tests.console.test_dashboard import table
from tests.metrics.test_anomalies import RULES, SINCE
from tests.payments.history import write_payments
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.staff.roles import Role

CAPTION = "2026-11-22 15:14:00 至 2026-11-22 15:29:00，与近 7 天同一时段相比"


async def lines(anomalies: Locator) -> set[tuple[str, ...]]:
    """Each row: utility, channel, anomaly, against usual, count, failed, unknown, mean latency."""
    found = anomalies.locator("tbody tr")
    return {tuple(t.strip() for t in await r.locator("th, td").all_inner_texts())
            for r in await found.all()}  # fmt: skip


WATER = ("BJWATER", "WECHAT", "失败增多", "× 25.00", "40", "10", "0", "0.2")  # 25 % vs 1 %
GAS = ("BJGAS", "ALIPAY", "缴费量下降", "× 0.00", "0", "0", "0", "0.0")


@pytest.fixture
async def troubled(engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]) -> None:
    """On each of the last 7 days 40 payments by WECHAT to BJWATER and 40 by ALIPAY to a
    second utility, BJGAS, in the window's minutes; now a quarter of BJWATER's fail and
    BJGAS has had none."""
    async with engine.begin() as conn:
        gas = await billers_service.add_biller(
            conn, clock, code="BJGAS", name="北京燃气", category=Category.GAS,
            mode=IntegrationMode.HOSTED, account_rule=WATER_RULE, account_hint="10 digits",
            region="110101", actor="test",
        )  # fmt: skip
        places = [
            (water(world).id, channel(world, "wechat").id),
            (gas.id, channel(world, "alipay").id),
        ]
        for biller, channel_id in places:
            for back in range(1, RULES.baseline_days + 1):
                await write_payments(conn, biller=biller, channel=channel_id,
                                     prefix=f"{biller}-D{back}-", n=40,
                                     created=SINCE - timedelta(days=back))  # fmt: skip
        water_id, wechat_id = places[0]
        for status, n in [("SUCCEEDED", 30), ("FAILED", 10)]:
            await write_payments(conn, biller=water_id, channel=wechat_id, prefix=f"W{status}",
                                 n=n, created=SINCE, status=status)  # fmt: skip


async def test_operations_see_every_utility_s_anomalies(
    page: Page, people: dict[Role, str], troubled: None
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto("/console/dashboard")
    # and the totals: each channel over all utilities, each utility over its channels
    assert await lines(table(page, CAPTION)) == {
        WATER, GAS, ("全部", *WATER[1:]), ("BJWATER", "全部", *WATER[2:]),
        ("全部", *GAS[1:]), ("BJGAS", "全部", *GAS[2:]),
    }  # fmt: skip
    await snapshot(page, "dashboard-anomalies")


async def test_utility_staff_see_only_their_utility_s_anomalies(
    page: Page, people: dict[Role, str], troubled: None
) -> None:
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto("/console/dashboard")
    assert await lines(table(page, CAPTION)) == {WATER}  # no totals over utilities
    await expect(page.get_by_role("main")).not_to_contain_text("BJGAS")


async def test_a_hub_as_usual_says_so(
    page: Page, people: dict[Role, str], world: dict[str, object]
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto("/console/dashboard")
    await expect(table(page, CAPTION)).to_contain_text("无：各渠道均正常。")
