"""Smart payment on the payer pages, in Chromium at a phone's size: a prepaid account's
balance with its plain-words explanation, the last 30 days as a chart (a bar per settled
day, gaps for the rest, figures for a screen reader), the monthly statement, a landlord and
a tenant who both bound and verified the meter; and what is refused: an unverified binding
(a page saying so, 403), another payer's binding or an account that is not prepaid (404)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.h5.conftest import OTHER_PAYER, PAYER, PHONE, launch_link, open_session, snapshot
from tests.h5.test_journeys import fits_the_phone
from tests.headend import test_headend_consumers as headend
from tests.helpers import ACCOUNT, bill_line, bind_verified, import_bills
from tests.prepaid.test_prepaid_accrual import NOV_1, power_account, standing, top_up, use
from tests.prepaid.test_statements_api import POWER_HOLDER, settled_october_and_november, stored
from utilipay.clock import FrozenClock
from utilipay.console.templating import yuan
from utilipay.prepaid.accrual import accrue_through
from utilipay.worker.context import WorkerContext
from utilipay_tools.client import ChannelClient
from utilipay_tools.headendsim.simulator import HeadEndSim

SETTLED = 18  # Nov 1 to Nov 18; the clock is on Nov 22, so the 30 days are Oct 23 to Nov 21


async def prepaid_with_days(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient, topped_up: int
) -> int:
    """Prepaid from Nov 1, topped up once, 8 kWh a day settled for 18 days; its balance."""
    await power_account(engine, clock, hub)
    await top_up(wechat, "TOPUP-1", topped_up)
    for n in range(SETTLED):
        await use(engine, NOV_1 + timedelta(days=n), "8")
    await accrue_through(engine, clock, NOV_1 + timedelta(days=SETTLED - 1))
    balance: int = (await standing(engine)).balance
    return balance


async def open_smart_page(page: Page, clock: FrozenClock, payer: str, binding_id: str) -> None:
    """From the app's link to the account, then its smart payment link."""
    await page.goto(launch_link(clock, payer))
    await page.goto(f"/h5/accounts/{binding_id}")
    await page.get_by_role("link", name="智能交费：余额与每日用电").click()
    await expect(page.get_by_role("heading", name=f"智能交费 · {ACCOUNT}")).to_be_visible()


async def test_the_balance_below_the_reminder_explained_and_30_days_of_use(
    phone: Page, clock: FrozenClock, engine: AsyncEngine, hub: Any, wechat: ChannelClient
) -> None:
    balance = await prepaid_with_days(engine, clock, hub, wechat, topped_up=8500)
    assert 0 < balance < 2000  # below the biller's reminder amount: LOW
    bound = await bind_verified(wechat, PAYER, "BJPOWER", ACCOUNT, POWER_HOLDER)
    await open_smart_page(phone, clock, PAYER, bound["id"])
    await expect(phone.get_by_text("户名 王*", exact=False)).to_be_visible()
    await expect(phone.get_by_text("王五")).to_have_count(0)
    explanation = phone.locator(".explanation")
    await expect(explanation).to_contain_text(
        f"余额 {yuan(balance)}，低于您设置的提醒金额 ¥20.00。"
    )
    await expect(phone.get_by_role("heading", name="余额 余额不足")).to_be_visible()
    await snapshot(phone, "smart-balance")

    chart = phone.locator("svg.usage")
    await expect(chart.locator("rect.bar")).to_have_count(SETTLED)
    await expect(chart.locator("rect.gap")).to_have_count(30 - SETTLED)
    label = await chart.get_attribute("aria-label")
    assert label is not None
    assert label.startswith("10月23日至11月21日：18 天有读数，合计 144.000 千瓦时"), label
    await expect(phone.get_by_role("img", name=re.compile("18 天有读数"))).to_be_visible()
    await phone.get_by_text("每日明细").click()
    rows = phone.locator("table.days tbody tr")
    await expect(rows).to_have_count(30)
    await expect(rows.first).to_have_accessible_name("11月21日 无读数")  # newest first
    await expect(phone.get_by_role("row", name=re.compile("11月18日 8.000"))).to_be_visible()
    await snapshot(phone, "smart-usage")
    assert await fits_the_phone(phone)  # the chart scales to 360 px, the table too
    await phone.get_by_role("link", name="English").click()
    await expect(phone.locator(".explanation")).to_contain_text(
        f"Balance {yuan(balance)}, below the reminder amount you set, ¥20.00."
    )


async def test_the_landlord_and_the_tenant_each_see_the_meter(
    phone: Page, browser: Browser, console: str, clock: FrozenClock, engine: AsyncEngine,
    hub: Any, wechat: ChannelClient,
) -> None:  # fmt: skip
    balance = await prepaid_with_days(engine, clock, hub, wechat, topped_up=5000)
    assert balance < 0  # in arrears since the pass of Sunday Nov 22, 15:30, warned then
    tenant = await bind_verified(wechat, PAYER, "BJPOWER", ACCOUNT, POWER_HOLDER)
    landlord = await bind_verified(wechat, OTHER_PAYER, "BJPOWER", ACCOUNT, POWER_HOLDER)
    context = await browser.new_context(base_url=console, locale="zh-CN", **PHONE)  # type: ignore[arg-type]
    landlords_phone = await context.new_page()
    try:
        views = ((phone, PAYER, tenant), (landlords_phone, OTHER_PAYER, landlord))
        for page, payer, binding in views:
            await open_smart_page(page, clock, payer, binding["id"])
            explanation = page.locator(".explanation")
            await expect(explanation).to_contain_text(f"余额 {yuan(balance)}，已欠费。")
            # 24 h of grace after the warning: Monday 15:30, a working day's cutting hours
            await expect(explanation).to_contain_text("如不充值，将于 11月23日 15:30 起停止供电。")
            await expect(page.locator(".shared")).to_contain_text("房东查看")
            await expect(page.locator(".shared")).to_contain_text("另有 1 位付款人")
            await expect(page.locator("svg.usage rect.bar")).to_have_count(SETTLED)
            await expect(page.get_by_text("王五")).to_have_count(0)
        await snapshot(landlords_phone, "smart-landlord")
    finally:
        await context.close()


async def test_the_last_full_month_then_a_month_chosen(
    phone: Page, clock: FrozenClock, engine: AsyncEngine, hub: Any, wechat: ChannelClient
) -> None:
    await settled_october_and_november(engine, clock, hub, wechat)
    bound = await bind_verified(wechat, PAYER, "BJPOWER", ACCOUNT, POWER_HOLDER)
    await open_smart_page(phone, clock, PAYER, bound["id"])
    await phone.get_by_role("link", name="月度账单").click()
    # the clock is in November: the last full month is October (its last two days)
    await expect(phone.get_by_role("heading", name="月度账单 · 2026-10")).to_be_visible()
    october = await stored(engine, date(2026, 10, 1))
    await expect(phone.locator("dl.facts")).to_contain_text(yuan(october.charges))
    await phone.get_by_label("月份").fill("2026-11")
    await phone.get_by_role("button", name="查看").click()
    await expect(phone.get_by_role("heading", name="月度账单 · 2026-11")).to_be_visible()
    november = await stored(engine, date(2026, 11, 1))
    facts = phone.locator("dl.facts")
    for figure in (november.opening_balance, november.top_ups, november.charges):
        await expect(facts).to_contain_text(yuan(figure))
    await expect(facts).to_contain_text(yuan(november.closing_balance))
    await expect(phone.locator("table.days").last.locator("tbody tr")).to_have_count(30)
    await expect(phone.locator("table.days").first).to_contain_text("¥200.00")
    await snapshot(phone, "smart-statement")
    await phone.get_by_label("月份").fill("2026-12")
    await phone.get_by_role("button", name="查看").click()
    await expect(phone.get_by_role("status")).to_contain_text("2026-12 的月度账单尚未出具")


async def test_unverified_is_told_to_verify_and_others_are_not_found(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, hub: Any,
    wechat: ChannelClient,
) -> None:  # fmt: skip
    await prepaid_with_days(engine, clock, hub, wechat, topped_up=5000)
    plain = {"payer": PAYER, "biller": "BJPOWER", "account": ACCOUNT}
    unverified = (await wechat.call("POST", "/v1/bindings", json=plain)).json()
    assert unverified["verified"] is False
    others = await bind_verified(wechat, OTHER_PAYER, "BJPOWER", ACCOUNT, POWER_HOLDER)
    await open_session(http, clock, PAYER)

    refused = await http.get(f"/h5/prepaid/{unverified['id']}")
    assert refused.status_code == 403
    assert "需要验证" in refused.text and "(VERIFICATION_REQUIRED)" in refused.text
    assert "/h5/verify?biller=" in refused.text  # the way to verify it
    assert "¥" not in refused.text  # no balance, no figure
    statement = await http.get(f"/h5/prepaid/{unverified['id']}/statement")
    assert statement.status_code == 403 and "VERIFICATION_REQUIRED" in statement.text
    for path in (f"/h5/prepaid/{others['id']}", f"/h5/prepaid/{others['id']}/statement",
                 "/h5/prepaid/NO-SUCH-BINDING"):  # fmt: skip
        assert (await http.get(path)).status_code == 404, path
    bad_month = await http.get(f"/h5/prepaid/{unverified['id']}/statement?month=2026-13")
    assert bad_month.status_code == 400


async def test_an_account_not_prepaid_has_no_smart_page(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, wechat: ChannelClient
) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001"))
    bound = await bind_verified(wechat, PAYER)  # the water account: billed, not prepaid
    await open_session(http, clock, PAYER)
    account = await http.get(f"/h5/accounts/{bound['id']}")
    assert account.status_code == 200 and "/h5/prepaid/" not in account.text
    for path in (f"/h5/prepaid/{bound['id']}", f"/h5/prepaid/{bound['id']}/statement"):
        assert (await http.get(path)).status_code == 404, path


# The head-end's fixtures: a cut and a restore switch the meters of the simulator's head-end
sim = headend.sim
worker = headend.worker


async def test_cut_then_restored_by_a_top_up_as_the_meter_switched(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, wechat: ChannelClient,
    worker: WorkerContext, sim: HeadEndSim,
) -> None:  # fmt: skip
    await headend.open_prepaid(engine, clock, ACCOUNT, {"W-1": True})  # at zero, warned
    bound = await bind_verified(wechat, PAYER)  # BJWATER's account, prepaid

    async def page() -> str:
        await open_session(http, clock, PAYER)  # the clock moves past a session's 30 min
        return (await http.get(f"/h5/prepaid/{bound['id']}")).text

    assert await headend.cut(engine, clock, headend.TUESDAY) == 1  # 10:00 in Shanghai
    await worker.dispatch_outbox()
    await worker.deliver_meter_commands()
    cut = await page()
    assert "余额 ¥0.00，已于 11月24日 10:00 停止供电。" in cut
    assert "充值至少 ¥0.01（使余额大于零）后将自动恢复供电。" in cut
    assert "恢复供电。" not in cut.replace("自动恢复供电。", "")

    clock.advance(timedelta(hours=2))
    await headend.top_up(wechat, "TOPUP-1")
    restored_before_the_meter = await page()
    assert "已于" not in restored_before_the_meter  # the relay has not switched yet
    await worker.dispatch_outbox()
    assert (await worker.deliver_meter_commands()).results == {"executed": 1}
    restored = await page()
    assert "余额 ¥50.00，供电正常。" in restored
    assert "已于 11月24日 12:00 恢复供电。" in restored
    clock.advance(timedelta(days=8))  # old news is not repeated
    assert "恢复供电" not in await page()
