"""The dashboard in a real browser: operations see every utility's and channel's payments
as they were made, utility staff only their utility's, customer service are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import START, WATER_RULE, channel, water
from tests.console.conftest import sign_in, snapshot
from tests.console.test_sign_in import audited
from tests.helpers import ACCOUNT, bill_line, import_bills, payment_body
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.staff.roles import Role
from utilipay.web.hub import Hub
from utilipay_tools.client import ChannelClient


@pytest.fixture
async def paid(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Hub,
    world: dict[str, object],
    wechat: ChannelClient,
    alipay: ChannelClient,
) -> None:
    """Two reconciliation runs; today, BJWATER paid 123.45 and 7.00 by WECHAT and 3.00
    by ALIPAY (133.45), a second utility, BJGAS, 50.00 by ALIPAY; and a BJWATER payment by
    WECHAT whose outcome has been unknown for two hours."""
    async with engine.begin() as conn:
        await billers_service.add_biller(
            conn, clock, code="BJGAS", name="北京燃气", category=Category.GAS,
            mode=IntegrationMode.HOSTED, account_rule=WATER_RULE, account_hint="10 digits",
            region="110101", actor="test",
        )  # fmt: skip
    await hub.directory.reload()
    gas_bill = f"BJGAS,{ACCOUNT},李四,G1,2026-10,5000,0,2026-11-30"
    await import_bills(
        engine, clock, bill_line("B1"), bill_line("B2", amount=700),
        bill_line("B3", amount=300), gas_bill,
    )  # fmt: skip
    for client, order, bills, amount, biller in [
        (wechat, "WX-1", ["B1"], 12345, "BJWATER"),
        (wechat, "WX-2", ["B2"], 700, "BJWATER"),
        (alipay, "ALI-1", ["B3"], 300, "BJWATER"),
        (alipay, "ALI-GAS", ["G1"], 5000, "BJGAS"),
    ]:
        body = payment_body(order, bill_nos=bills, amount=amount, biller=biller)
        response = await client.call("POST", "/v1/payments", json=body)
        assert response.status_code == 201, response.text
    async with engine.begin() as conn:  # runs: of every utility on the 20th, of BJGAS on the 21st
        await conn.execute(
            text(
                "INSERT INTO recon_runs (business_date, channel_code, biller_code, cutoff_s,"
                " actor, started_at, finished_at, records, counts, sources) VALUES"
                " ('2026-11-20', NULL, NULL, 0, 'test', :at, :at, 9, '{}', '{}'),"
                " ('2026-11-21', 'ALIPAY', 'BJGAS', 0, 'test', :at, :at, 1, '{}', '{}')"
            ),
            {"at": START},
        )
    async with engine.begin() as conn:  # a remote utility's payment still unresolved
        await conn.execute(
            text(
                "INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer,"
                " account_no, amount, currency, bill_nos, status, resolution, created_at,"
                " purpose) VALUES (:biller, 'PAY-UNKNOWN', :channel, 'WX-9', '\\x00', 'p',"
                " :account, 4200, 'CNY', '{}', 'PROCESSING', 'CONFIRMING', :at, 'bills')"
            ),
            {
                "biller": water(world).id, "channel": channel(world, "wechat").id,
                "account": ACCOUNT, "at": START - timedelta(hours=2),
            },
        )  # fmt: skip


def row(table: Locator, header: str) -> Locator:
    return table.get_by_role("row").filter(has=table.page.get_by_role("rowheader", name=header))


async def cells(table: Locator, header: str) -> list[str]:
    found = row(table, header).get_by_role("cell")
    return [text.strip() for text in await found.all_inner_texts()]


def table(page: Page, caption: str) -> Locator:
    return page.get_by_role("table", name=caption)


async def test_operations_see_every_channel_and_utility(
    page: Page, people: dict[Role, str], paid: None
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto("/console/dashboard")
    await expect(page.get_by_role("heading", name="总览", exact=True)).to_be_visible()
    by_channel = table(page, "今日缴费（按渠道）")
    # count, succeeded, failed, unknown, amount paid, success rate
    assert await cells(by_channel, "WECHAT") == ["3", "2", "0", "1", "¥130.45", "100.0%"]
    assert await cells(by_channel, "ALIPAY") == ["2", "2", "0", "0", "¥53.00", "100.0%"]
    by_utility = table(page, "今日缴费（按机构）")
    assert await cells(by_utility, "BJWATER") == ["4", "3", "0", "1", "¥133.45", "100.0%"]
    assert await cells(by_utility, "BJGAS") == ["1", "1", "0", "0", "¥50.00", "100.0%"]
    assert await cells(by_utility, "合计") == ["5", "4", "0", "1", "¥183.45", "100.0%"]
    month = table(page, "本月缴费（按机构）")
    assert await cells(month, "BJGAS") == ["1", "1", "0", "0", "¥50.00", "100.0%"]
    daily = table(page, "每日各渠道缴费笔数")
    assert await cells(daily, "2026-11-22") == ["2", "3"]  # ALIPAY, WECHAT
    assert await cells(daily, "2026-11-21") == ["0", "0"]
    assert await page.locator("#daily-chart").evaluate("c => Chart.getChart(c) !== undefined")
    unknown = table(page, "各机构：笔数及最早一笔已等待时长（时:分:秒）")
    assert await cells(unknown, "BJWATER") == ["1", "2:00:00"]
    oldest = table(page, "其中最早的几笔")
    await expect(oldest).to_contain_text("PAY-UNKNOWN")
    backlogs = table(page, "各队列待处理的工作（与 /metrics 一致）")
    assert await cells(backlogs, "exceptions") == ["0", "0:00:00"]
    closing = table(page, "各机构最近一次")
    # last reconciled day, when, last settled day, its payments, its net
    assert await cells(closing, "BJGAS 北京燃气") == [
        "2026-11-21",
        "2026-11-22 15:30:00",
        "从未",
        "",
        "",
    ]
    assert await cells(closing, "BJWATER 北京自来水") == [
        "2026-11-20",
        "2026-11-22 15:30:00",
        "从未",
        "",
        "",
    ]
    await snapshot(page, "dashboard")


async def test_utility_staff_see_only_their_utility(
    page: Page, people: dict[Role, str], paid: None
) -> None:
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto("/console/dashboard")
    by_channel = table(page, "今日缴费（按渠道）")
    assert await cells(by_channel, "ALIPAY") == ["1", "1", "0", "0", "¥3.00", "100.0%"]
    assert await cells(by_channel, "WECHAT") == ["3", "2", "0", "1", "¥130.45", "100.0%"]
    by_utility = table(page, "今日缴费（按机构）")
    assert await row(by_utility, "BJGAS").count() == 0
    assert await cells(by_utility, "合计") == ["4", "3", "0", "1", "¥133.45", "100.0%"]
    await expect(page.get_by_role("main")).not_to_contain_text("BJGAS")
    await expect(page.get_by_role("main")).not_to_contain_text("北京燃气")
    # the hub's queues mix every utility's work: not shown to a utility's staff
    assert await table(page, "各队列待处理的工作（与 /metrics 一致）").count() == 0
    closing = table(page, "各机构最近一次")
    assert await cells(closing, "BJWATER 北京自来水") == [
        "2026-11-20",
        "2026-11-22 15:30:00",
        "从未",
        "",
        "",
    ]


async def test_customer_service_is_refused(
    page: Page, people: dict[Role, str], engine: AsyncEngine, paid: Any
) -> None:
    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    response = await page.goto("/console/dashboard")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("main")).not_to_contain_text("BJWATER")
    assert await audited(engine, "console.refused") == [("customer-service", "/console/dashboard")]
