"""An account's reminders on its page: customer service changes them for a payer on the
phone (audited with the reason), back to the utility's default with one button; a role
without the permission, or utility staff at another utility's account, is refused."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import sign_in, snapshot
from tests.console.payers import ACCOUNT, audited, power_prepaid, water_payer  # noqa: F401 (the fixtures)
from utilipay.staff.roles import Role

PAGE = f"/console/accounts/BJWATER/{ACCOUNT}"


async def _chosen(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT kinds, days_before, means FROM reminder_choices"))
        return [tuple(r) for r in rows]


async def test_customer_service_changes_an_account_s_reminders(
    page: Page,
    people: dict[Role, str],
    engine: AsyncEngine,
    water_payer: dict[str, Any],  # noqa: F811
) -> None:
    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    await page.goto(PAGE)
    reminders = page.get_by_role("region", name="提醒设置")
    await expect(reminders).to_contain_text("3 (单位默认)")
    await reminders.get_by_label("出账提醒").uncheck()
    await reminders.get_by_label("电子邮件").uncheck()
    await reminders.get_by_label("到期前天数（留空：单位默认）").fill("5")
    await reminders.get_by_label("原因（缴费人的请求）").fill("payer asked by phone")
    await reminders.get_by_role("button", name="保存提醒设置").click()
    await expect(page).to_have_url(PAGE)
    await expect(reminders).to_contain_text("到期提醒 · 逾期提醒")
    await expect(reminders).to_contain_text("缴费渠道消息 · 短信")
    await expect(reminders).not_to_contain_text("单位默认)")
    assert await _chosen(engine) == [(["due_soon", "overdue"], 5, ["channel", "sms"])]
    changed = await audited(engine, "reminders.account_changed")
    assert [(r.actor, r.object_id, r.reason) for r in changed] == [
        (people[Role.CUSTOMER_SERVICE], f"BJWATER/{ACCOUNT}", "payer asked by phone")
    ]
    await snapshot(page, "account-reminders")

    await reminders.get_by_role("button", name="恢复单位默认").click()
    await expect(reminders).to_contain_text("3 (单位默认)")
    assert await _chosen(engine) == [(None, None, None)]


async def test_a_bad_number_of_days_is_refused_and_changes_nothing(
    page: Page,
    people: dict[Role, str],
    engine: AsyncEngine,
    water_payer: dict[str, Any],  # noqa: F811
) -> None:
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto(PAGE)
    token = await page.locator("input[name=csrf_token]").first.input_value()
    refused = await page.request.post(
        f"{PAGE}/reminders", form={"csrf_token": token, "days_before": "45", "kinds": "overdue"}
    )
    assert refused.status == 400
    assert "less than or equal to 30" in await refused.text()
    assert await _chosen(engine) == []


async def test_who_may_not_change_reminders_is_refused(
    page: Page,
    people: dict[Role, str],
    engine: AsyncEngine,
    water_payer: dict[str, Any],  # noqa: F811
    power_prepaid: None,  # noqa: F811
) -> None:
    await sign_in(page, people[Role.AUDITOR])
    await page.goto(PAGE)
    await expect(page.get_by_role("region", name="提醒设置")).to_contain_text("短信")
    await expect(page.get_by_role("button", name="保存提醒设置")).to_have_count(0)
    token = await page.locator("input[name=csrf_token]").first.input_value()
    as_auditor = await page.request.post(
        f"{PAGE}/reminders", form={"csrf_token": token, "days_before": "1"}
    )
    assert as_auditor.status == 403
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto(PAGE)
    token = await page.locator("input[name=csrf_token]").first.input_value()
    elsewhere = await page.request.post(
        f"/console/accounts/BJPOWER/{ACCOUNT}/reminders",
        form={"csrf_token": token, "days_before": "1"},
    )
    assert elsewhere.status == 403
    assert await _chosen(engine) == []
    refused = [(r.actor, r.object_id) for r in await audited(engine, "console.refused")]
    assert refused == [
        (people[Role.AUDITOR], f"{PAGE}/reminders"),
        (people[Role.UTILITY_STAFF], f"/console/accounts/BJPOWER/{ACCOUNT}/reminders"),
    ]
