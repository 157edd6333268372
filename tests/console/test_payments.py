"""The payments pages in a real browser: real payments (hosted bills paid through two
channels, a remote utility's write-off) found each way, a payment's whole story, and what
utility staff may not see of another utility's payments."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import REMOTE_ACCOUNT
from tests.console.conftest import sign_in, snapshot
from tests.console.test_sign_in import audited
from tests.helpers import ACCOUNT, bill_line, import_bills
from tests.payments.test_remote_payments import worker  # noqa: F401 (the fixture)
from tests.payments.test_story import pay
from tests.receivers import receiver
from tests.utility import CODE, Utility
from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock
from utilipay.staff.roles import Role
from utilipay_tools.client import ChannelClient

OTHER_ACCOUNT = "2598765432"


@pytest.fixture
async def paid(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, alipay: ChannelClient,
    utility: Utility,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Three hosted payments at BJWATER (two on the 22nd, one on the 23rd, through two
    channels) and one at the remote utility RWATER; by order id."""
    await import_bills(
        engine, clock, bill_line("B1", amount=12345), bill_line("B2", OTHER_ACCOUNT, 5000),
        bill_line("B3", amount=8000, period="2026-09"),
    )  # fmt: skip
    made = [
        await pay(wechat, order_id="WX-1", bill_nos=["B1"], amount=12345),
        await pay(
            alipay,
            order_id="ALI-2",
            account=OTHER_ACCOUNT,
            bill_nos=["B2"],
            amount=5000,
            payer="ali-user-2",
        ),
    ]
    clock.advance(timedelta(days=1))
    made.append(await pay(wechat, order_id="WX-3", bill_nos=["B3"], amount=8000))
    remote = await wechat.call("POST", "/v1/payments", json={
        "order_id": "WX-R1", "biller": CODE, "account": REMOTE_ACCOUNT, "amount": 4250,
        "bill_nos": ["RB-1"], "payer": "wx-openid-remote"})  # fmt: skip
    assert remote.status_code == 201, remote.text
    made.append(remote.json())
    return {p["order_id"]: p for p in made}


def listed(page: Page) -> Any:
    return page.locator("main table tbody tr:has(a)")  # a payment's row links to its story


async def search(page: Page, **fields: str) -> None:
    query = "&".join(f"{name}={value}" for name, value in fields.items())
    await page.goto(f"/console/payments?{query}")


async def orders_shown(page: Page) -> list[str]:
    return [await row.locator("td").nth(2).inner_text() for row in await listed(page).all()]


async def test_operations_find_payments_each_way(
    page: Page, people: dict[Role, str], paid: dict[str, dict[str, Any]]
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto("/console/payments")
    await expect(page.get_by_role("heading", name="缴费记录")).to_be_visible()
    assert await orders_shown(page) == ["WX-R1", "WX-3", "ALI-2", "WX-1"]  # newest first
    first = listed(page).filter(has_text="WX-1")
    await expect(first.locator("td.num")).to_have_text("¥123.45")
    await expect(first).to_contain_text(paid["WX-1"]["receipt_no"])
    await snapshot(page, "payments")

    await page.get_by_label("订单号").fill("ALI-2")
    await page.get_by_role("button", name="查询").click()
    assert await orders_shown(page) == ["ALI-2"]
    ways = {
        "receipt": ({"receipt": paid["WX-3"]["receipt_no"]}, ["WX-3"]),
        "account": ({"account": ACCOUNT}, ["WX-3", "WX-1"]),
        "payer": ({"payer": "ali-user-2"}, ["ALI-2"]),
        "channel": ({"channel": "ALIPAY"}, ["ALI-2"]),
        "utility": ({"biller": CODE}, ["WX-R1"]),
        "status": ({"status": "SUCCEEDED", "channel": "WECHAT"}, ["WX-R1", "WX-3", "WX-1"]),
        "one business day": ({"since": "2026-11-22", "until": "2026-11-22"}, ["ALI-2", "WX-1"]),
        "from a day on": ({"since": "2026-11-23"}, ["WX-R1", "WX-3"]),
        "nothing": ({"order": "NO-SUCH-ORDER"}, []),
    }
    for way, (fields, expected) in ways.items():
        await search(page, **fields)
        assert await orders_shown(page) == expected, way
    await expect(page.locator("main tbody")).to_have_text("没有符合条件的缴费。")

    await search(page, status="LOST")
    await expect(page.get_by_role("alert")).to_have_text("没有这个状态。")
    await search(page, channel="NOPE")
    await expect(page.get_by_role("alert")).to_have_text("没有这个渠道。")


async def test_a_payments_whole_story(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any,
    wechat: ChannelClient, worker: Any, paid: dict[str, dict[str, Any]],  # noqa: F811
) -> None:  # fmt: skip
    with receiver() as hooks:
        async with engine.begin() as conn:
            await channels_service.update_channel(
                conn, clock, "WECHAT", webhook_url=hooks.url, actor="t"
            )
        await hub.directory.reload()
        await worker.dispatch_outbox()
        await worker.deliver_webhooks()
    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    hosted = paid["WX-1"]
    await page.goto("/console/payments")
    await page.get_by_role("link", name=hosted["id"]).click()
    await expect(page.get_by_role("heading", name=f"缴费 {hosted['id']}")).to_be_visible()
    request = page.locator("section").filter(has=page.get_by_role("heading", name="缴费请求"))
    for shown in ("WECHAT", "WX-1", "¥123.45", hosted["receipt_no"], "B1", ACCOUNT, "成功"):
        await expect(request).to_contain_text(shown)
    ledger = page.locator("section").filter(has=page.get_by_role("heading", name="账务"))
    await expect(ledger.locator("tbody tr")).to_have_count(2)
    await expect(ledger).to_contain_text("¥123.45")
    hooks_part = page.locator("section").filter(
        has=page.get_by_role("heading", name="发给渠道的通知")
    )
    await expect(hooks_part).to_contain_text("payment.succeeded")
    await expect(hooks_part).to_contain_text("DELIVERED")
    calls = page.locator("section").filter(
        has=page.get_by_role("heading", name="与缴费单位的报文交互")
    )
    await expect(calls).to_contain_text("无：该单位的账单由平台托管。")

    remote = paid["WX-R1"]
    await page.goto(f"/console/payments/{remote['id']}")
    await expect(calls.locator("tbody tr")).to_have_count(1)
    await expect(calls.locator("tbody tr")).to_contain_text("charge")
    await expect(calls.locator("tbody tr")).to_contain_text("0000")
    await expect(request).to_contain_text(remote["biller_serial"])
    await expect(request).to_contain_text("¥42.50")
    sent = page.locator("section").filter(has=page.get_by_role("heading", name="发给缴费人的消息"))
    await expect(sent.locator("tbody tr")).to_have_count(1)  # its receipt, none of another's
    await expect(sent).to_contain_text("payment.receipt")
    await expect(sent).to_contain_text(f"凭证号：{remote['receipt_no']}")
    await snapshot(page, "payment-story")


async def test_utility_staff_see_their_utility_only(
    page: Page, people: dict[Role, str], engine: AsyncEngine, paid: dict[str, dict[str, Any]]
) -> None:
    name = people[Role.UTILITY_STAFF]
    await sign_in(page, name)
    await page.goto("/console/payments")
    assert await orders_shown(page) == ["WX-3", "ALI-2", "WX-1"]  # not RWATER's
    await search(page, biller=CODE)
    assert await orders_shown(page) == []
    await expect(page.get_by_label("公用事业单位").locator("option")).to_have_count(2)  # any, own

    remote = paid["WX-R1"]["id"]
    response = await page.goto(f"/console/payments/{remote}")
    assert response is not None and response.status == 403
    assert (name, f"/console/payments/{remote}") in await audited(engine, "console.refused")
    response = await page.goto("/console/payments/P-NO-SUCH")
    assert response is not None and response.status == 404


async def test_a_platform_admin_may_not_open_payments(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.PLATFORM_ADMIN])
    response = await page.goto("/console/payments")
    assert response is not None and response.status == 403
    assert ("platform-admin", "/console/payments") in await audited(engine, "console.refused")
