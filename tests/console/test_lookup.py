"""Customer service's payer look-up in the browser: a payer or an account → bills,
payments, bindings, mandates, prepaid balance, messages; a receipt sent again and a
mandate cancelled at the payer's request, each audited; the roles that may not."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import sign_in, snapshot
from tests.console.payers import ACCOUNT, PAYER, audited, power_prepaid, water_payer  # noqa: F401 (the fixtures)
from utilipay.staff.roles import Role


async def _sent(engine: AsyncEngine) -> None:
    """As if the delivery pass had sent every message."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE notifications SET status = 'SENT', sent_at = created_at,"
                " next_attempt_at = NULL, attempts = 1"
            )
        )


async def _mandate_status(engine: AsyncEngine, mandate_id: str) -> str:
    async with engine.connect() as conn:
        query = text("SELECT status FROM mandates WHERE id = :m")
        return str((await conn.execute(query, {"m": mandate_id})).scalar_one())


async def test_customer_service_looks_up_a_payer_and_resends_a_receipt(
    page: Page,
    people: dict[Role, str],
    engine: AsyncEngine,
    water_payer: dict[str, Any],  # noqa: F811
) -> None:
    made = water_payer
    await _sent(engine)
    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    await page.goto("/console/lookup")
    await page.get_by_label("缴费人（渠道给出的标识或手机号）").fill(PAYER)
    await page.get_by_role("button", name="查询").click()
    await expect(page.get_by_role("region", name="欠费账单")).to_contain_text("B202610-0002")
    await expect(page.get_by_role("region", name="绑定")).to_contain_text(ACCOUNT)
    await expect(page.get_by_role("region", name="缴费记录")).to_contain_text(made["payment"]["id"])
    await expect(page.get_by_role("region", name="自动缴费签约")).to_contain_text("正常")
    await snapshot(page, "lookup")
    receipt = page.get_by_role("region", name="已发消息").get_by_role("row", name="payment.receipt")
    await receipt.get_by_role("button", name="重发回单").click()
    await expect(page.get_by_role("status")).to_contain_text("回单已排队重发")
    async with engine.connect() as conn:
        query = text(
            "SELECT status, sent_at FROM notifications WHERE template = 'payment.receipt'"
            " AND recipient_kind = 'channel'"
        )
        assert (await conn.execute(query)).one() == ("PENDING", None)
    [entry] = await audited(engine, "receipt.resend")
    assert entry.actor == "customer-service"
    assert (entry.before["status"], entry.after["status"]) == ("SENT", "PENDING")


async def test_customer_service_cancels_a_mandate_with_a_reason(
    page: Page,
    people: dict[Role, str],
    engine: AsyncEngine,
    water_payer: dict[str, Any],  # noqa: F811
) -> None:
    made = water_payer
    mandate_id = made["mandate"]["id"]
    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    await page.goto(f"/console/lookup?biller=BJWATER&account={ACCOUNT}")
    token = await page.locator("input[name=csrf_token]").first.input_value()
    blank = await page.request.post(
        f"/console/lookup/mandates/{mandate_id}/cancel",
        form={"csrf_token": token, "reason": "  ", "back": "/console/lookup?"},
    )
    assert blank.status == 400 and "请填写原因" in await blank.text()
    assert await _mandate_status(engine, mandate_id) == "ACTIVE"

    mandates = page.get_by_role("region", name="自动缴费签约")
    await mandates.get_by_label("原因（缴费人的请求）").fill("缴费人来电要求解约")
    await mandates.get_by_role("button", name="解约").click()
    await expect(page.get_by_role("status")).to_contain_text("已解约")
    await expect(mandates).to_contain_text("已解约")
    assert await _mandate_status(engine, mandate_id) == "CANCELLED"
    [entry] = await audited(engine, "mandate.cancel")
    assert (entry.actor, entry.object_id, entry.reason) == (
        "customer-service",
        mandate_id,
        "缴费人来电要求解约",
    )
    assert (entry.before["status"], entry.after["status"]) == ("ACTIVE", "CANCELLED")


async def test_an_account_look_up_shows_the_prepaid_balance(
    page: Page,
    people: dict[Role, str],
    engine: AsyncEngine,
    power_prepaid: None,  # noqa: F811
) -> None:
    await sign_in(page, people[Role.AUDITOR])
    await page.goto(f"/console/lookup?biller=BJPOWER&account={ACCOUNT}")
    await expect(page.get_by_role("region", name="预付费")).to_contain_text("¥300.00")
    await expect(page.get_by_role("button", name="重发回单")).to_have_count(0)  # reads only


async def test_who_may_not_look_up_or_act_is_refused(
    page: Page,
    people: dict[Role, str],
    engine: AsyncEngine,
    water_payer: dict[str, Any],  # noqa: F811
) -> None:
    made = water_payer
    await sign_in(page, people[Role.UTILITY_STAFF])
    response = await page.goto("/console/lookup")
    assert response is not None and response.status == 403
    await sign_in(page, people[Role.AUDITOR])
    await page.goto("/console/lookup?payer=" + PAYER)
    token = await page.locator("input[name=csrf_token]").first.input_value()
    cancel = await page.request.post(
        f"/console/lookup/mandates/{made['mandate']['id']}/cancel",
        form={"csrf_token": token, "reason": "trying"},
    )
    assert cancel.status == 403
    assert await _mandate_status(engine, made["mandate"]["id"]) == "ACTIVE"
    refused = [(r.actor, r.object_id) for r in await audited(engine, "console.refused")]
    assert refused == [
        ("utility-staff", "/console/lookup"),
        ("auditor", f"/console/lookup/mandates/{made['mandate']['id']}/cancel"),
    ]
