"""Settlement in the console: each payee's day with its lines and payout, its files as
``utilipay settle export`` makes them, utility staff kept to their own utility, and the
payout account changed only when a second person approves (four eyes)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import channel, water
from tests.console.conftest import PASSWORD, sign_in, snapshot
from tests.recon.test_recon_run import at, payment
from tests.settlement.test_settlement import DAY, NEXT_MORNING, account, account_no, settle
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.settlement import files, service
from utilipay.staff import service as users
from utilipay.staff.roles import Role

WATER_PAGE = f"/console/settlement/BJWATER/{DAY}"
GAS_PAGE = f"/console/settlement/BJGAS/{DAY}"


async def rows(engine: AsyncEngine, sql: str, **values: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text(sql), values))


@pytest.fixture
async def settled(engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]) -> None:
    """DAY settled to the water utility (two payments) and to a gas utility (one)."""
    async with engine.begin() as conn:
        gas = await billers_service.add_biller(
            conn, clock, code="BJGAS", name="北京燃气", category=Category.GAS,
            mode=IntegrationMode.HOSTED, account_rule=r"[0-9]{10}", actor="test",
        )  # fmt: skip
        wx = channel(world, "wechat").id
        await payment(conn, water(world).id, wx, "WX-1", 12345, finished=at(DAY, "09:00"))
        await payment(conn, water(world).id, wx, "WX-2", 655, finished=at(DAY, "10:00"))
        await payment(conn, gas.id, wx, "WX-3", 8000, finished=at(DAY, "11:00"))
    await account(engine, clock, "BJWATER")
    await account(engine, clock, "BJGAS")
    clock.set(NEXT_MORNING)
    assert {o.status for o in (await settle(engine, clock)).values()} == {"SETTLED"}


async def ask_change(page: Page, reason: str) -> None:
    """Ask, on the water utility's settlement, for its payout account to change."""
    await page.goto(WATER_PAGE)
    await page.get_by_label("银行账号", exact=True).fill("6222000011112222")
    await page.get_by_label("户名").fill("北京自来水集团")
    await page.get_by_label("开户行").fill("中国建设银行北京分行")
    await page.get_by_label("原因", exact=True).fill(reason)
    await page.get_by_role("button", name="提交审批").click()


async def csrf(page: Page) -> str:
    token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    return token


async def refused(engine: AsyncEngine, actor: str) -> list[str]:
    found = await rows(
        engine, "SELECT object_id FROM audit_log WHERE action = 'console.refused' AND actor = :a"
        " ORDER BY id", a=actor,
    )  # fmt: skip
    return [r.object_id for r in found]


async def test_utility_staff_see_and_download_only_their_utilitys_settlement(
    page: Page, people: dict[Role, str], engine: AsyncEngine, settled: None
) -> None:
    staff = people[Role.UTILITY_STAFF]
    await sign_in(page, staff)
    await page.goto("/console/settlement")  # the day before today in Shanghai: DAY
    listed = page.locator("table").first
    await expect(listed).to_contain_text("BJWATER")
    await expect(listed).to_contain_text("¥130.00")  # 123.45 + 6.55, no fee rule
    await expect(listed).not_to_contain_text("BJGAS")
    await expect(listed).to_contain_text("STL-BJWATER-20261122")
    await listed.get_by_role("link", name="BJWATER").click()
    await expect(page).to_have_url(WATER_PAGE)
    await expect(page.get_by_role("heading", name=f"BJWATER 北京自来水 · {DAY}")).to_be_visible()
    await expect(page.get_by_role("button", name="提交审批")).to_have_count(0)
    await snapshot(page, "settlement")

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="下载 CSV").click()
    download = await waiting.value
    assert download.suggested_filename == f"settlement-BJWATER-{DAY}.csv"
    async with engine.connect() as conn:
        expected = await service.one_settlement(conn, DAY, "BJWATER")
    assert (await download.path()).read_bytes() == files.to_csv(expected)
    xml = await page.request.get(f"{WATER_PAGE}/file.xml")
    assert xml.headers["content-type"] == "application/xml"
    assert xml.headers["content-disposition"] == (
        f'attachment; filename="settlement-BJWATER-{DAY}.xml"'
    )
    csv = await page.request.get(f"{WATER_PAGE}/file.csv")
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"

    for path in (GAS_PAGE, f"{GAS_PAGE}/file.csv"):
        answer = await page.goto(path)
        assert answer is not None and answer.status == 403
    assert await refused(engine, staff) == [GAS_PAGE, f"{GAS_PAGE}/file.csv"]


async def test_a_payout_account_changes_only_when_a_second_person_approves(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, settled: None
) -> None:
    async with engine.begin() as conn:
        await users.create_user(
            conn, clock, username="operations-2", password=PASSWORD, role=Role.OPERATIONS,
            biller_id=None, actor="test",
        )  # fmt: skip
    asker = people[Role.OPERATIONS]
    await sign_in(page, asker)
    await ask_change(page, "the utility moved its account")
    waiting = page.locator("table", has=page.locator("caption", has_text="待审批"))
    await expect(waiting).to_contain_text("6222000011112222")
    await expect(waiting).to_contain_text("等待第二人审批")
    await expect(waiting.get_by_role("button", name="批准")).to_have_count(0)
    current = page.locator("#current-account")
    await expect(current).to_contain_text(account_no("BJWATER"))

    # a forged approval by the asker: refused by the service, audited, nothing changed
    (approval,) = await rows(engine, "SELECT id FROM staff_approvals")
    decide = f"/console/settlement/approvals/{approval.id}"
    forged = await page.request.post(
        decide, form={"csrf_token": await csrf(page), "decision": "approve"}
    )
    assert forged.status == 403
    assert await refused(engine, asker) == [decide]
    (still,) = await rows(engine, "SELECT account_no FROM settlement_accounts"
                                  " WHERE account_name = 'BJWATER 收款户'")  # fmt: skip
    assert still.account_no == account_no("BJWATER")

    await sign_in(page, "operations-2")
    await page.goto("/console/settlement")
    waiting = page.locator("table", has=page.locator("caption", has_text="待审批"))
    await waiting.get_by_role("button", name="批准").click()
    await expect(page.locator("table", has=page.locator("caption", has_text="待审批"))
                 ).to_contain_text("没有待审批的变更")  # fmt: skip
    await page.goto(WATER_PAGE)
    await expect(page.locator("#current-account")).to_contain_text("6222000011112222")
    (changed,) = await rows(
        engine, "SELECT actor, reason, before, after FROM audit_log"
        " WHERE action = 'settlement.account_change'",
    )  # fmt: skip
    assert (changed.actor, changed.reason) == ("operations-2", "the utility moved its account")
    assert changed.before["account_no"] == account_no("BJWATER")
    assert changed.after == {"account_no": "6222000011112222", "account_name": "北京自来水集团",
                             "bank": "中国建设银行北京分行"}  # fmt: skip
    decided = await rows(engine, "SELECT action, actor FROM audit_log"
                                 " WHERE object_type = 'approval' ORDER BY id")  # fmt: skip
    assert [tuple(d) for d in decided] == [
        ("payout_account.change.ask", asker),
        ("payout_account.change.approved", "operations-2"),
    ]


async def test_a_change_needs_a_reason_and_a_valid_account(
    page: Page, people: dict[Role, str], engine: AsyncEngine, settled: None
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto(WATER_PAGE)
    form = {"csrf_token": await csrf(page), "account_no": "6222000011112222",
            "account_name": "x", "bank": "y"}  # fmt: skip
    no_reason = await page.request.post(f"{WATER_PAGE}/account", form={**form, "reason": ""})
    assert no_reason.status == 400
    assert "needs a reason" in await no_reason.text()
    bad = await page.request.post(
        f"{WATER_PAGE}/account", form={**form, "account_no": "12", "reason": "moved"}
    )
    assert bad.status == 400
    assert "must be 6-34 characters" in await bad.text()
    assert await rows(engine, "SELECT id FROM staff_approvals") == []


async def test_an_auditor_reads_settlements_and_cannot_change_or_approve(
    page: Page, people: dict[Role, str], engine: AsyncEngine, settled: None
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await ask_change(page, "moved")
    (approval,) = await rows(engine, "SELECT id FROM staff_approvals")

    auditor = people[Role.AUDITOR]
    await sign_in(page, auditor)
    await page.goto(GAS_PAGE)  # every utility's
    await expect(page.get_by_role("heading", name=f"BJGAS 北京燃气 · {DAY}")).to_be_visible()
    await page.goto(WATER_PAGE)
    await expect(page.get_by_text("等待第二人审批")).to_be_visible()
    await expect(page.get_by_role("button", name="批准")).to_have_count(0)
    await expect(page.get_by_role("button", name="提交审批")).to_have_count(0)
    answer = await page.request.post(
        f"/console/settlement/approvals/{approval.id}",
        form={"csrf_token": await csrf(page), "decision": "approve"},
    )
    assert answer.status == 403
    (status,) = await rows(engine, "SELECT status FROM staff_approvals")
    assert status.status == "PENDING"

    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    shown = await page.goto("/console/settlement")
    assert shown is not None and shown.status == 403
    assert urlparse(page.url).path == "/console/settlement"
