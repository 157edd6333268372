"""Early warning in the console: utility staff acknowledge their warnings with a note and
tune their rules (audited); they never see another utility's, and are refused (audited)
when they try one by URL; a role without the permission may not open the page."""

from __future__ import annotations

from datetime import date
from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import sign_in, snapshot
from tests.console.test_sign_in import audited
from tests.warnings.rows import bill
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.staff.roles import Role
from utilipay.warnings import episodes, rules
from utilipay.warnings.evaluate import evaluate_all

PAGE = "/console/warnings"


async def two_utilities_warned(engine: AsyncEngine, clock: FrozenClock, hub: Any) -> dict[str, int]:
    """BJWATER and BJGAS each with an account in arrears and a warning of it: their ids."""
    async with engine.begin() as conn:
        gas = await billers_service.add_biller(
            conn, clock, code="BJGAS", name="北京燃气", category=Category.GAS,
            mode=IntegrationMode.HOSTED, account_rule=r"[0-9]{10}", actor="test",
        )  # fmt: skip
        for code in ("BJWATER", "BJGAS"):
            biller_id = await rules.biller_id_of(conn, code)
            await rules.add_rule(conn, clock, biller_id, "account_arrears", {"days": 1},
                                 actor="test")  # fmt: skip
    await hub.directory.reload()
    await bill(engine, clock, "W1", issued=date(2026, 10, 1), due=date(2026, 11, 1))
    await bill(engine, clock, "G1", issued=date(2026, 10, 1), due=date(2026, 11, 1),
               account="9912345678", biller="BJGAS")  # fmt: skip
    await evaluate_all(engine, clock)
    async with engine.connect() as conn:
        found = await episodes.list_warnings(conn, None)
    return {("BJGAS" if w.biller_id == gas.id else "BJWATER"): w.id for w in found}


async def test_utility_staff_acknowledge_their_warning_with_a_note(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    ids = await two_utilities_warned(engine, clock, hub)
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.get_by_role("link", name="回收预警").click()
    mine = page.get_by_role("region", name=f"预警 {ids['BJWATER']} · BJWATER")
    await expect(mine).to_contain_text("户号0112345678逾期欠费100.00元，最早一笔已逾期21天")
    await expect(page.get_by_text("BJGAS")).to_have_count(0)
    await snapshot(page, "warnings")

    await mine.get_by_role("button", name="确认").click()  # no note: the browser asks for one
    await expect(page.locator("p.notice")).to_have_count(0)
    await mine.get_by_label("处理情况（必填）").fill("已电话联系户主，本周五缴清")
    await mine.get_by_role("button", name="确认").click()
    await expect(page.locator("p.notice")).to_have_text("预警已确认。")
    await expect(page.get_by_text("没有待确认的预警。")).to_be_visible()
    assert await audited(engine, "warnings.acknowledged") == [
        ("utility-staff", str(ids["BJWATER"]))
    ]


async def test_a_warning_acknowledged_meanwhile_is_said_so(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    ids = await two_utilities_warned(engine, clock, hub)
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto(PAGE)
    first = page.get_by_role("region", name=f"预警 {ids['BJGAS']} · BJGAS")
    async with engine.begin() as conn:
        await episodes.acknowledge(conn, clock, ids["BJGAS"], "done", actor="someone")
    await first.get_by_label("处理情况（必填）").fill("我也处理了")
    await first.get_by_role("button", name="确认").click()
    await expect(page.get_by_role("alert")).to_contain_text("was already acknowledged by someone")


async def test_utility_staff_tune_and_add_rules(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await two_utilities_warned(engine, clock, hub)
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto(PAGE)
    [rule] = await page.get_by_role("region", name="规则").filter(has_text="BJWATER").all()
    await rule.get_by_label("天数").fill("0")
    await rule.get_by_role("button", name="保存规则").click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "days: Input should be greater than or equal to 1"
    )
    await rule.get_by_label("天数").fill("30")
    await rule.get_by_label("金额（分，100分=1元）").fill("500000")
    await rule.get_by_label("启用").uncheck()
    await rule.get_by_role("button", name="保存规则").click()
    await expect(page.locator("p.notice")).to_contain_text("规则已保存")
    async with engine.connect() as conn:
        [water] = [r for r in await rules.list_rules(conn, None) if r.updated_by != "test"]
    assert water.params == {"amount_fen": 500_000, "days": 30} and not water.enabled

    await page.get_by_label("类型").select_option("autopay_failed_twice")
    await page.get_by_role("button", name="添加", exact=True).click()
    await expect(page.locator("p.notice")).to_contain_text("已按该类型的默认参数添加规则")
    await expect(page.get_by_role("region", name="autopay_failed_twice")).to_contain_text(
        "某户最近N次代扣均失败"
    )
    actors = [actor for actor, _ in await audited(engine, "warnings.rule_changed")]
    assert actors == ["utility-staff"]
    assert [a for a, _ in await audited(engine, "warnings.rule_added")][-1] == "utility-staff"


async def test_who_may_not_see_or_touch_warnings(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    ids = await two_utilities_warned(engine, clock, hub)
    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    response = await page.goto(PAGE)
    assert response is not None and response.status == 403
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto(PAGE)
    token = await page.locator("input[name=csrf_token]").first.input_value()
    async with engine.connect() as conn:
        gas_rule = next(r.id for r in await rules.list_rules(conn, None) if r.id != 1)
    for url, form in [
        (f"{PAGE}/{ids['BJGAS']}/acknowledge", {"note": "not mine"}),
        (f"{PAGE}/{ids['BJGAS']}/acknowledge", {"note": ""}),  # the scope before the note
        (f"{PAGE}/rules/{gas_rule}", {"param_days": "5"}),
        (f"{PAGE}/rules", {"biller": "BJGAS", "kind": "arrears_total"}),
        (f"{PAGE}/contacts", {"biller": "BJGAS", "contacts": "me@example.com"}),
    ]:
        other = await page.request.post(url, form={"csrf_token": token, **form})
        assert other.status == 403, url
    missing = await page.request.post(
        f"{PAGE}/99999/acknowledge", form={"csrf_token": token, "note": "seen"}
    )
    assert missing.status == 404
    refused = [actor for actor, _ in await audited(engine, "console.refused")]
    assert refused == ["customer-service"] + ["utility-staff"] * 5
    async with engine.connect() as conn:
        assert len(await episodes.list_warnings(conn, None, unacknowledged=True)) == 2
        assert all(r.params["days"] == 1 for r in await rules.list_rules(conn, None))


async def test_utility_staff_choose_whom_their_warnings_go_to(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await two_utilities_warned(engine, clock, hub)
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto(PAGE)
    await expect(page.get_by_role("region", name="联系人 · BJGAS")).to_have_count(0)
    mine = page.get_by_role("region", name="联系人 · BJWATER")
    box = mine.get_by_label("每行一个：电子邮箱或手机号码；留空则不通知任何人")
    await box.fill("ops@water.example.cn\n\n13800138000\nnot a contact")
    await mine.get_by_role("button", name="保存联系人").click()
    await expect(page.get_by_role("alert")).to_contain_text("not a contact: sms 'not a contact'")
    async with engine.connect() as conn:
        water_id = await rules.biller_id_of(conn, "BJWATER")
        assert await rules.contacts(conn, water_id) == []  # refused whole: nothing written
    await box.fill("ops@water.example.cn\n\n13800138000")
    await mine.get_by_role("button", name="保存联系人").click()
    await expect(page.locator("p.notice")).to_have_text("联系人已保存，此后的预警将发给他们。")
    await expect(box).to_have_value("ops@water.example.cn\n13800138000\n")
    async with engine.connect() as conn:
        assert await rules.contacts(conn, water_id) == [
            ("email", "ops@water.example.cn"), ("sms", "13800138000")
        ]  # fmt: skip
    assert await audited(engine, "warnings.contacts_set") == [("utility-staff", str(water_id))]
