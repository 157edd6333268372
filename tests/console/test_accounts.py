"""A utility's accounts in the browser: found by utility and number; the page shows the
bills owed, bindings, mandates, payments, prepaid state with the daily usage (chart and
table) and the messages; utility staff are refused another utility's account, audited."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import sign_in, snapshot
from tests.console.payers import ACCOUNT, PAYER, audited, power_prepaid, water_payer  # noqa: F401 (the fixtures)
from utilipay.staff.roles import Role


async def test_utility_staff_find_their_account_and_see_all_of_it(
    page: Page,
    people: dict[Role, str],
    engine: AsyncEngine,
    water_payer: dict[str, Any],  # noqa: F811
) -> None:
    made = water_payer
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto("/console/accounts")
    await page.get_by_label("户号").fill(ACCOUNT)
    await page.get_by_role("button", name="查找").click()
    await expect(page).to_have_url(f"/console/accounts/BJWATER/{ACCOUNT}")
    owed = page.get_by_role("region", name="欠费账单")
    await expect(owed.get_by_role("row", name="B202610-0002")).to_contain_text("¥88.00")
    await expect(owed.get_by_role("row", name="B202610-0001")).to_have_count(0)  # paid
    await expect(page.get_by_role("region", name="绑定")).to_contain_text(PAYER)
    mandates = page.get_by_role("region", name="自动缴费签约")
    await expect(mandates).to_contain_text(made["mandate"]["id"])
    await expect(mandates).to_contain_text("正常")
    payments = page.get_by_role("region", name="缴费记录")
    await expect(payments).to_contain_text(made["payment"]["id"])
    await expect(payments).to_contain_text("¥123.45")
    messages = page.get_by_role("region", name="已发消息")
    await expect(messages.get_by_role("row", name="payment.receipt").first).to_be_visible()
    # a utility's staff read; the actions are customer service's
    await expect(page.get_by_role("button", name="重发回单")).to_have_count(0)


async def test_a_prepaid_account_shows_its_balance_state_and_daily_usage(
    page: Page,
    people: dict[Role, str],
    engine: AsyncEngine,
    power_prepaid: None,  # noqa: F811
) -> None:
    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    await page.goto(f"/console/accounts/BJPOWER/{ACCOUNT}")
    prepaid = page.get_by_role("region", name="预付费")
    await expect(prepaid).to_contain_text("¥300.00")
    await expect(prepaid).to_contain_text("正常")
    usage = page.get_by_role("region", name="每日用量")
    await expect(usage.locator("canvas")).to_be_visible()
    drawn = await page.evaluate("() => Object.keys(Chart.instances).length")
    assert drawn == 1
    rows = usage.get_by_role("row")
    await expect(rows).to_have_count(1 + 20)  # header, Nov 1-20 (the last 30 days to Nov 21)
    await expect(usage.get_by_role("row", name="2026-11-20")).to_contain_text("8")
    await snapshot(page, "account")


async def test_utility_staff_are_refused_another_utilitys_account_by_url(
    page: Page,
    people: dict[Role, str],
    engine: AsyncEngine,
    power_prepaid: None,  # noqa: F811
) -> None:
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto("/console/accounts")
    await expect(page.get_by_role("option", name="BJPOWER")).to_have_count(0)
    response = await page.goto(f"/console/accounts/BJPOWER/{ACCOUNT}")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("alert")).to_contain_text("您无权打开此页面或执行此操作")
    await expect(page.get_by_text("¥300.00")).to_have_count(0)
    refused = await audited(engine, "console.refused")
    assert [(r.actor, r.object_id) for r in refused] == [
        ("utility-staff", f"/console/accounts/BJPOWER/{ACCOUNT}")
    ]
    assert "outside utility-staff's utilities" in refused[0].reason


async def test_a_role_without_accounts_is_refused(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    response = await page.goto("/console/accounts")
    assert response is not None and response.status == 403
    assert [r.actor for r in await audited(engine, "console.refused")] == ["operations"]
