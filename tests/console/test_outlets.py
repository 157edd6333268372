"""The Outlets section in a real browser: operations issue a terminal (its secret shown
once), rotate it, record a deposit (the float moves), refuse bad input with the form again
(400, nothing written), suspend the outlet; auditors and customer service read without
acting (403, audited); utility staff do not see outlets at all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, Response, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import sign_in, snapshot
from tests.console.test_sign_in import audited
from tests.outlets.helpers import agent_with_shop
from utilipay.clock import FrozenClock
from utilipay.console.templating import shanghai
from utilipay.outlets import service, terminal_admin
from utilipay.outlets.repository import Outlet
from utilipay.outlets.schemas import OutletKind
from utilipay.security.sealing import unseal
from utilipay.staff.roles import Role

SHOP = "/console/outlets/AGENT1/SHOP-0001"


@pytest.fixture
async def shop(engine: AsyncEngine, clock: FrozenClock) -> Outlet:
    """AGENT1's village shop (threshold ¥500, float empty: low) with operator OP-01, and a
    counter in another region whose threshold is 0 (never low)."""
    async with engine.begin() as conn:
        found = await agent_with_shop(conn, clock)
        await service.add_outlet(
            conn, clock, channel="AGENT1", code="CTR-02", name="镇供电所柜台",
            kind=OutletKind.COUNTER, region="泉州市安溪县", low_threshold=0, actor="test",
        )  # fmt: skip
        await terminal_admin.add_operator(
            conn, clock, channel="AGENT1", outlet="SHOP-0001", code="OP-01", name="陈小妹",
            actor="test",
        )  # fmt: skip
        # the episode a payment below the threshold starts (outlets' lowfloat side)
        await conn.execute(
            text("UPDATE outlets SET low_since = :at WHERE id = :id"),
            {"at": clock.now(), "id": found.id},
        )
    return found


async def scalar(engine: AsyncEngine, sql: str) -> object:
    async with engine.connect() as conn:
        return await conn.scalar(text(sql))


async def answer_to(page: Page, act: Callable[[], Awaitable[None]]) -> Response:
    """The response to the form ``act`` submits."""
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await act()
    return await posted.value


async def test_operations_see_the_outlets_and_filter_them(
    page: Page, people: dict[Role, str], shop: Outlet, clock: FrozenClock
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.get_by_role("navigation").get_by_role("link", name="代收网点").click()
    rows = page.locator("#outlets tbody tr")
    await expect(rows).to_have_count(2)
    shop_row = rows.filter(has_text="SHOP-0001")
    await expect(shop_row).to_contain_text("东村小卖部")
    await expect(shop_row).to_contain_text("代收点")
    await expect(shop_row).to_contain_text("¥500.00")  # the threshold
    low_flag = shop_row.locator("td").nth(10)  # empty float
    await expect(low_flag).to_have_text(f"不足 始于 {shanghai(clock.now())}")
    await expect(rows.filter(has_text="CTR-02").locator("td").nth(10)).to_have_text("")
    await snapshot(page, "outlets")

    await page.get_by_label("仅看备付金不足").check()
    await page.get_by_role("button", name="筛选").click()
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("SHOP-0001")
    await page.goto("/console/outlets?region=泉州市安溪县")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("CTR-02")
    await page.goto("/console/outlets?channel=NONE")
    await expect(rows).to_have_text("没有符合条件的网点。")


async def test_a_terminal_secret_is_shown_once_and_rotated(
    page: Page, people: dict[Role, str], engine: AsyncEngine, shop: Outlet
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto(SHOP)
    await page.get_by_label("终端类型").select_option("pos_fixed")
    await page.get_by_label("标签").fill("收银台 1")
    await page.get_by_role("button", name="发放终端").click()
    await expect(page.get_by_role("status").first).to_contain_text("终端已发放")
    secret = await page.locator("#shown-secret").inner_text()
    terminal_id = await page.locator("#shown-terminal").inner_text()
    stored = await scalar(engine, f"SELECT secret FROM terminals WHERE id = '{terminal_id}'")
    assert isinstance(stored, str) and unseal(stored) == secret and stored != secret
    assert page.url.endswith(SHOP)  # a reload opens the outlet's page, not the form again
    await expect(page.locator("#terminals tbody tr")).to_contain_text(["收银台 1"])
    await snapshot(page, "outlet-secret")

    await page.reload()
    await expect(page.locator("#shown-secret")).to_have_count(0)
    await expect(page.locator("body")).not_to_contain_text(secret)
    assert ("operations", terminal_id) in await audited(engine, "terminal.add")
    logged = await scalar(engine, "SELECT string_agg(CAST(audit_log AS text), '') FROM audit_log")
    assert secret not in str(logged)

    await page.get_by_role("combobox", name="终端", exact=True).select_option(terminal_id)
    await page.locator("#tc-reason").fill("the shop's tablet was replaced")
    await page.get_by_role("button", name="轮换密钥").click()
    rotated = await page.locator("#shown-secret").inner_text()
    assert rotated != secret
    assert ("operations", terminal_id) in await audited(engine, "terminal.rotate")
    await expect(page.locator("#terminals")).to_contain_text("旧密钥仍可用")

    await page.goto(SHOP)
    await page.locator("#tc-reason").fill("stolen")
    await page.get_by_role("button", name="注销").click()
    await expect(page.get_by_role("status").first).to_contain_text("终端已注销")
    await expect(page.locator("#terminals tbody tr")).to_contain_text(["已注销"])
    assert ("operations", terminal_id) in await audited(engine, "terminal.revoke")


async def test_a_deposit_moves_the_float_and_bad_input_writes_nothing(
    page: Page, people: dict[Role, str], engine: AsyncEngine, shop: Outlet
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto(SHOP)
    await expect(page.locator("#float-balance")).to_have_text("¥0.00")

    async def deposit(amount: str, reference: str) -> Response:
        await page.get_by_label("金额（元）").fill(amount)
        await page.get_by_label("银行流水号").fill(reference)
        await page.locator("#d-reason").fill("transfer on the bank statement")
        return await answer_to(page, page.get_by_role("button", name="登记存款").click)

    assert (await deposit("1,234.50", "BOC-20261206-0001")).status == 303
    await expect(page.locator("#float-balance")).to_have_text("¥1,234.50")
    await expect(page.locator("#float-available")).to_have_text("¥1,234.50")
    await expect(page.locator("#float-low")).to_have_text("")  # above ¥500 now
    await expect(page.locator("#deposits tbody tr")).to_contain_text(["BOC-20261206-0001"])
    assert (
        await scalar(engine, f"SELECT balance FROM outlet_floats WHERE outlet_id = {shop.id}")
        == 123_450
    )
    assert ("operations", "AGENT1.SHOP-0001") in await audited(engine, "float.deposit")
    await snapshot(page, "outlet")

    for amount, reference, said in [
        ("12.345", "BOC-2", "请以元为单位填写存款金额"),  # a fraction of a fen
        ("1.5e3", "BOC-2", "请以元为单位填写存款金额"),
        ("0", "BOC-2", "请以元为单位填写存款金额"),
        ("100", "BOC-20261206-0001", "was recorded already"),  # the same transfer
    ]:
        refused = await deposit(amount, reference)
        assert refused.status == 400
        await expect(page.get_by_role("alert")).to_contain_text(said)
        await expect(page.get_by_label("金额（元）")).to_have_value(amount)  # kept to correct
    assert await scalar(engine, "SELECT count(*) FROM float_deposits") == 1
    assert (
        await scalar(engine, f"SELECT balance FROM outlet_floats WHERE outlet_id = {shop.id}")
        == 123_450
    )

    await page.get_by_label("预警阈值（元）").fill("five hundred")
    await page.locator("#edit-reason").fill("the owner asked")
    refused = await answer_to(page, page.get_by_role("button", name="保存").click)
    assert refused.status == 400
    await expect(page.get_by_role("alert")).to_contain_text("请以元为单位填写预警阈值")
    await page.get_by_label("预警阈值（元）").fill("2,000")
    await page.get_by_label("电话（留空：无）").fill("0595-86881234")
    await page.locator("#edit-reason").fill("the owner asked")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_role("status")).to_have_text("网点已保存。")
    await expect(page.locator("#float")).to_contain_text("¥2,000.00")
    await expect(page.locator("#float-low")).to_have_text("不足")
    assert await audited(engine, "outlet.update") == [("operations", "AGENT1.SHOP-0001")]


async def test_operators_and_suspension(
    page: Page, people: dict[Role, str], engine: AsyncEngine, shop: Outlet
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto(SHOP)
    await page.locator("#os-code").fill("OP-99")
    await page.locator("#os-reason").fill("left the shop")
    refused = await answer_to(page, page.get_by_role("button", name="停用").click)
    assert refused.status == 400
    await expect(page.get_by_role("alert")).to_contain_text("no operator OP-99")
    assert await audited(engine, "operator.disable") == []

    await page.locator("#o-code").fill("OP-02")
    await page.locator("#o-name").fill("林阿姨")
    await page.get_by_role("button", name="添加收费员").click()
    await expect(page.locator("#operators tbody tr")).to_have_count(2)
    await page.locator("#os-code").fill("OP-01")
    await page.locator("#os-reason").fill("left the shop")
    await page.get_by_role("button", name="停用").click()
    await expect(page.get_by_role("status")).to_have_text("收费员已停用。")
    await expect(page.locator("#operators tbody tr").first).to_contain_text("已停用")
    assert await audited(engine, "operator.disable") == [("operations", "AGENT1.SHOP-0001/OP-01")]

    await page.locator("#status-reason").fill("owner in arrears with the channel")
    await page.get_by_role("button", name="暂停", exact=True).click()
    await expect(page.locator("#outlet-status")).to_have_text("已暂停")
    assert await audited(engine, "outlet.suspend") == [("operations", "AGENT1.SHOP-0001")]
    await expect(page.get_by_role("button", name="恢复")).to_be_visible()

    missing = "/console/outlets/AGENT1/NOPE"
    assert (response := await page.goto(missing)) is not None and response.status == 404
    token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    form: dict[str, str | float | bool] = {
        "csrf_token": token or "", "operator": "OP-01", "name": "某人"
    }  # fmt: skip
    assert (await page.request.post(f"{missing}/operators", form=form)).status == 404


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.CUSTOMER_SERVICE])
async def test_readers_see_an_outlet_but_may_not_act(
    page: Page, people: dict[Role, str], engine: AsyncEngine, shop: Outlet, role: Role
) -> None:
    await sign_in(page, people[role])
    response = await page.goto(SHOP)
    assert response is not None and response.status == 200
    await expect(page.locator("#deposit-reference")).to_have_text("FLOAT-AGENT1-SHOP-0001")
    await expect(page.locator("#operators")).to_contain_text("陈小妹")
    await expect(page.locator("form[action^='/console/outlets']")).to_have_count(0)

    token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    form: dict[str, str | float | bool] = {
        "csrf_token": token or "", "amount": "100", "bank_reference": "BOC-9",
        "reason": "looks fine",
    }  # fmt: skip
    refused = await page.request.post(f"{SHOP}/deposits", form=form)
    assert refused.status == 403
    assert (people[role], f"{SHOP}/deposits") in await audited(engine, "console.refused")
    assert await scalar(engine, "SELECT count(*) FROM float_deposits") == 0


async def test_utility_staff_do_not_see_outlets(
    page: Page, people: dict[Role, str], engine: AsyncEngine, shop: Outlet
) -> None:
    name = people[Role.UTILITY_STAFF]
    await sign_in(page, name)
    await expect(
        page.get_by_role("navigation").get_by_role("link", name="缴费记录", exact=True)
    ).to_be_visible()
    await expect(page.get_by_role("link", name="代收网点")).to_have_count(0)
    for path in ("/console/outlets", SHOP):
        response = await page.goto(path)
        assert response is not None and response.status == 403
        assert (name, path) in await audited(engine, "console.refused")
