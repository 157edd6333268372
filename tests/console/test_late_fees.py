"""Late fees in the console: utility staff add their utility's rules (an overlap refused,
both rules named), see a bill's late fee as computed and waive it with a reason (audited);
auditors read only; another utility's, by URL or form, is refused and audited; a role
without the permission may not open the page."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import sign_in, snapshot
from tests.console.test_sign_in import audited
from tests.warnings.rows import bill
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.billing import latefee_service
from utilipay.billing.latefees import LateFeeRule
from utilipay.clock import FrozenClock
from utilipay.staff.roles import Role

PAGE = "/console/late-fees"
DUE = date(2026, 11, 1)  # 21 days before the clock's day, 2026-11-22


async def water_and_gas_bills(engine: AsyncEngine, clock: FrozenClock, hub: Any) -> None:
    """BJWATER's bill W1 and BJGAS's bill G1, both 100 yuan due on ``DUE``; BJGAS with a
    rule of 2‰ a day."""
    async with engine.begin() as conn:
        await billers_service.add_biller(
            conn, clock, code="BJGAS", name="北京燃气", category=Category.GAS,
            mode=IntegrationMode.HOSTED, account_rule=r"[0-9]{10}", actor="test",
        )  # fmt: skip
        gas_rule = LateFeeRule(date(2026, 1, 1), None, Decimal(2))
        await latefee_service.add_rule(conn, clock, "BJGAS", gas_rule, actor="test", reason="")
    await hub.directory.reload()
    await bill(engine, clock, "W1", issued=date(2026, 10, 1), due=DUE)
    await bill(engine, clock, "G1", issued=date(2026, 10, 1), due=DUE, account="9912345678",
               biller="BJGAS")  # fmt: skip


async def fee_of(engine: AsyncEngine, code: str, bill_no: str) -> int:
    async with engine.connect() as conn:
        found = await latefee_service.bill_fee(conn, code, bill_no, date(2026, 11, 22))
    return found.fee.fee


async def test_utility_staff_add_a_rule_and_an_overlap_is_refused_naming_both(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await water_and_gas_bills(engine, clock, hub)
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.get_by_role("link", name="违约金").click()
    rules = page.get_by_role("region", name="违约金规则： BJWATER")
    await expect(rules).to_contain_text("尚无规则")
    await expect(page.get_by_text("BJGAS")).to_have_count(0)

    form = page.get_by_role("region", name="添加规则")
    await form.get_by_label("生效日", exact=True).fill("2026-01-01")
    await form.get_by_label("截止日（留空为长期有效）").fill("2026-12-31")
    await form.get_by_label("每日按本金的千分之几").fill("1")
    await form.get_by_label("宽限天数（不计费）").fill("5")
    await form.get_by_label("上限占本金百分比（可选）").fill("30")
    await form.get_by_label("原因（必填）").fill("物价局文件")
    await form.get_by_role("button", name="添加规则").click()
    await expect(page.locator("p.notice")).to_contain_text("规则已添加")
    await expect(rules.locator("tbody tr td")).to_have_text(
        [re.compile(r"[0-9]+"), "2026-01-01", "2026-12-31", "所有类别", "1", "5", "30%", "自然日"]
    )

    await form.get_by_label("生效日", exact=True).fill("2026-12-01")
    await form.get_by_label("每日按本金的千分之几").fill("0.5")
    await form.get_by_label("原因（必填）").fill("新标准")
    await form.get_by_role("button", name="添加规则").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("the new rule (2026-12-01..open-ended, every class)")
    await expect(alert).to_contain_text("overlaps rule")
    await expect(alert).to_contain_text("(2026-01-01..2026-12-31, every class) of BJWATER")
    await expect(form.get_by_label("每日按本金的千分之几")).to_have_value("0.5")  # kept
    await snapshot(page, "late-fees")
    assert await audited(engine, "late_fee_rule.add") == [
        ("test", "BJGAS"), ("utility-staff", "BJWATER")
    ]  # fmt: skip


async def test_a_refused_rule_answers_400(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await water_and_gas_bills(engine, clock, hub)
    rule = LateFeeRule(date(2026, 1, 1), None, Decimal(1))
    async with engine.begin() as conn:
        await latefee_service.add_rule(conn, clock, "BJWATER", rule, actor="test", reason="")
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto(PAGE)
    token = await page.locator("input[name=csrf_token]").first.input_value()
    for typed, said in (
        ({"effective_from": "2027-01-01", "daily_per_mille": "2"}, "overlaps rule 2"),
        ({"effective_from": "2026-01-01", "daily_per_mille": "50"}, "at most 10"),
        ({"effective_from": "2026-01-01", "daily_per_mille": "1", "cap_fen": "1.5"}, "整数分"),
        ({"effective_from": "2026-13-01", "daily_per_mille": "1"}, "YYYY-MM-DD"),
    ):
        form: dict[str, str | float | bool] = {"csrf_token": token, "biller": "BJWATER",
                                               "reason": "r", **typed}  # fmt: skip
        answer = await page.request.post(f"{PAGE}/rules", form=form)
        assert answer.status == 400, typed
        assert said in await answer.text(), typed
    assert [actor for actor, _ in await audited(engine, "late_fee_rule.add")] == ["test"] * 2


async def test_utility_staff_see_a_bills_fee_and_waive_part_of_it_with_a_reason(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await water_and_gas_bills(engine, clock, hub)
    rule = LateFeeRule(date(2026, 1, 1), None, Decimal(1), grace_days=5, cap_percent=Decimal(30))
    async with engine.begin() as conn:
        await latefee_service.add_rule(conn, clock, "BJWATER", rule, actor="test", reason="")
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto(PAGE)
    await page.get_by_label("账单号").fill("W1")
    await page.get_by_role("button", name="显示").click()
    fee = page.get_by_role("region", name="账单违约金 W1 · 2026-11-22")
    # 100 yuan, 21 days overdue, 16 of them charged at 1‰: 1.60 yuan
    shown = (("本金", "¥100.00"), ("逾期天数", "21"), ("计费天数", "16"), ("日费率（‰）", "1"),
             ("按规则计算", "¥1.60"), ("随账单导入", "¥0.00"), ("已减免", "¥0.00"),
             ("应缴违约金", "¥1.60"), ("应缴总额", "¥101.60"))  # fmt: skip
    for row, value in shown:
        header = page.get_by_role("rowheader", name=row, exact=True)
        await expect(fee.get_by_role("row").filter(has=header)).to_contain_text(value)

    waiver = fee.get_by_role("form", name="减免今日违约金")
    await waiver.get_by_label("减免金额（分；留空为全部）").fill("60")
    await waiver.get_by_role("button", name="减免").click()  # no reason: the browser asks
    await expect(page.locator("p.notice")).to_have_count(0)
    await waiver.get_by_label("原因（必填）").fill("户主住院，经科长批准")
    await waiver.get_by_role("button", name="减免").click()
    await expect(page.locator("p.notice")).to_have_text("违约金已减免。")
    await expect(page.locator("#late-fee")).to_have_text("¥1.00")
    assert await fee_of(engine, "BJWATER", "W1") == 100
    assert await audited(engine, "late_fee.waive") == [("utility-staff", "BJWATER/W1")]

    await waiver.get_by_label("原因（必填）").fill("全部减免")
    await waiver.get_by_role("button", name="减免").click()  # empty amount: all of it
    await expect(page.locator("#late-fee")).to_have_text("¥0.00")
    await expect(waiver).to_have_count(0)  # nothing left to waive
    assert await fee_of(engine, "BJWATER", "W1") == 0


async def test_auditors_read_only_and_others_may_not_open_the_page(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await water_and_gas_bills(engine, clock, hub)
    await sign_in(page, people[Role.AUDITOR])
    await page.goto(f"{PAGE}?biller=BJGAS&bill=G1")
    await expect(page.locator("#late-fee")).to_have_text("¥4.20")  # 2‰ × 21 days of 100 yuan
    await expect(page.get_by_role("button", name="减免")).to_have_count(0)
    await expect(page.get_by_role("region", name="添加规则")).to_have_count(0)
    token = await page.locator("input[name=csrf_token]").first.input_value()
    answer = await page.request.post(
        f"{PAGE}/waivers", form={"csrf_token": token, "biller": "BJGAS", "bill": "G1",
                                 "reason": "auditor"},
    )  # fmt: skip
    assert answer.status == 403
    for role in (Role.OPERATIONS, Role.CUSTOMER_SERVICE, Role.PLATFORM_ADMIN):
        await sign_in(page, people[role])
        response = await page.goto(PAGE)
        assert response is not None and response.status == 403, role
    assert await fee_of(engine, "BJGAS", "G1") == 420


async def test_utility_staff_are_refused_another_utility_by_url_and_form(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await water_and_gas_bills(engine, clock, hub)
    await sign_in(page, people[Role.UTILITY_STAFF])
    response = await page.goto(f"{PAGE}?biller=BJGAS&bill=G1")
    assert response is not None and response.status == 403
    await expect(page.get_by_text("¥4.20")).to_have_count(0)
    await page.goto(PAGE)
    token = await page.locator("input[name=csrf_token]").first.input_value()
    for url, form in (
        (f"{PAGE}/rules", {"biller": "BJGAS", "effective_from": "2027-01-01",
                           "daily_per_mille": "1", "reason": "not mine"}),
        (f"{PAGE}/waivers", {"biller": "BJGAS", "bill": "G1", "reason": "not mine"}),
    ):  # fmt: skip
        answer = await page.request.post(url, form={"csrf_token": token, **form})
        assert answer.status == 403, url
    refused = [actor for actor, _ in await audited(engine, "console.refused")]
    assert refused == ["utility-staff"] * 3
    assert await fee_of(engine, "BJGAS", "G1") == 420
    assert await audited(engine, "late_fee_rule.add") == [("test", "BJGAS")]
