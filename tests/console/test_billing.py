"""Billing runs and tariffs in the browser: a month billed beside the page and listed, the
tariffs' versions and a quote in yuan; who may not."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.billruns.test_billing_run_support import (
    POWER,
    WATER,
    add_power,
    add_usage,
    assign,
    open_accounts,
    rows,
    spread,
)
from tests.console.conftest import sign_in, snapshot
from tests.console.payers import audited
from tests.helpers import ACCOUNT
from utilipay.clock import FrozenClock
from utilipay.console import jobs as console_jobs
from utilipay.staff.roles import Role


async def _water_usage(engine: AsyncEngine, clock: FrozenClock) -> None:
    """BJWATER's ACCOUNT on the Beijing water tariff, 25 m3 read in October."""
    await assign(engine, clock, WATER, "BJ_WATER_RES")
    await open_accounts(engine, WATER, ACCOUNT)
    await add_usage(engine, WATER, ACCOUNT, spread("2026-10", 25))


async def _start_run(page: Page, period: str) -> None:
    await page.goto("/console/billing-runs")
    await page.get_by_label("账期（YYYY-MM）").fill(period)
    await page.get_by_role("button", name="开始抄表核算").click()
    await console_jobs.wait_for_all()


async def test_utility_staff_bill_a_month_and_see_the_run(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock
) -> None:
    await _water_usage(engine, clock)
    await sign_in(page, people[Role.UTILITY_STAFF])
    await _start_run(page, "2026-11")  # not over yet on Nov 22: refused, nothing billed
    await expect(page.locator(".job")).to_contain_text("失败", timeout=5000)
    await expect(page.locator(".job")).to_contain_text("period 2026-11 runs to 2026-11-30")
    await _start_run(page, "2026-10")
    await expect(page.locator(".job")).to_contain_text("1 bills issued", timeout=5000)
    await page.goto("/console/billing-runs")
    run = page.get_by_role("row", name="2026-10")
    await expect(run).to_contain_text("¥125.00")  # 25 m3 at 5 yuan
    await expect(run).to_contain_text("utility-staff")
    bills = await rows(engine, "SELECT account_no, period, amount FROM bills")
    assert [(b.account_no, b.period, b.amount) for b in bills] == [(ACCOUNT, "2026-10", 12500)]
    [entry] = await audited(engine, "billing.run")
    assert (entry.actor, entry.object_id) == ("utility-staff", "BJWATER")


async def test_who_may_not_run_bills(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await add_power(engine, clock)
    await hub.directory.reload()
    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    response = await page.goto("/console/billing-runs")
    assert response is not None and response.status == 403
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto("/console/billing-runs")
    await expect(page.get_by_role("option", name=POWER)).to_have_count(0)
    token = await page.locator("input[name=csrf_token]").first.input_value()
    other = await page.request.post(
        "/console/billing-runs", form={"csrf_token": token, "biller": POWER, "period": "2026-10"}
    )
    assert other.status == 403
    refused = [(r.actor, r.object_id) for r in await audited(engine, "console.refused")]
    assert refused == [
        ("customer-service", "/console/billing-runs"),
        ("utility-staff", "/console/billing-runs"),
    ]


async def test_tariffs_and_a_quote_in_yuan(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock
) -> None:
    await assign(engine, clock, WATER, "BJ_WATER_RES")  # loads the published tariffs
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto("/console/tariffs")
    versions = page.get_by_role("region", name="价目及其版本")
    await expect(versions).to_contain_text("BJ_ELEC_RES")
    await page.get_by_role("combobox", name="价目").select_option("BJ_ELEC_RES")
    await page.get_by_label("日期（取当日有效的版本；留空为今天）").fill("2026-10-15")
    await page.get_by_label("用量").fill("246")
    await page.get_by_role("button", name="试算").click()
    # 240 x 0.4883 + 6 x 0.5383 = 120.4218 yuan, rounded once
    await expect(page.locator("#quote-total")).to_have_text("¥120.42")
    await snapshot(page, "tariffs")
    await page.get_by_label("用量").fill("lots")
    await page.get_by_role("button", name="试算").click()
    await expect(page.get_by_role("alert")).to_contain_text("用量必须是数字")


async def test_operations_do_not_read_tariffs(page: Page, people: dict[Role, str]) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    response = await page.goto("/console/tariffs")
    assert response is not None and response.status == 403
