"""The reports page in a real browser: the monthly analyses kept, with their PDF and XLSX,
each person seeing their utilities' only; another utility's file by URL refused (403,
audited); "make now" for those who may, not for auditors; no page for customer service.

The report itself (tables, charts, CSV and XLSX of a period) needs the collection
service's ``build_report``, merged beside this page (see the merge notes of issue 13).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.collection.sample import collection_report, hand_made
from tests.conftest import WATER_RULE
from tests.console.conftest import sign_in, snapshot
from tests.console.test_sign_in import audited
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.collection.analyses import make_due_analyses
from utilipay.console.i18n import Locale
from utilipay.console.pages.reports import chart_view, table_view
from utilipay.staff.roles import Role
from utilipay.web.hub import Hub


@pytest.fixture
async def kept(engine: AsyncEngine, clock: FrozenClock, hub: Hub) -> None:
    """October's analyses of BJWATER and of a second utility, BJGAS, made by the worker
    on 2026-11-02 (the 1st is a Sunday), from hand-built reports."""
    async with engine.begin() as conn:
        await billers_service.add_biller(
            conn, clock, code="BJGAS", name="北京燃气", category=Category.GAS,
            mode=IntegrationMode.HOSTED, account_rule=WATER_RULE, account_hint="10 digits",
            region="110101", actor="test",
        )  # fmt: skip
    await hub.directory.reload()
    made: list[tuple[int, date]] = []
    clock.set(datetime(2026, 11, 2, 1, tzinfo=UTC))
    assert await make_due_analyses(engine, clock, hand_made(made)) == 2


async def test_utility_staff_see_and_download_their_analyses_only(
    page: Page, people: dict[Role, str], kept: None, engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto("/console/reports")
    await expect(page.get_by_role("heading", name="报表", exact=True)).to_be_visible()
    listed = page.get_by_role("table").filter(has_text="2026-10")
    await expect(listed).to_contain_text("BJWATER")
    await expect(page.get_by_role("main")).not_to_contain_text("BJGAS")
    await expect(page.get_by_role("button", name="立即生成")).to_be_visible()
    async with page.expect_download() as download:
        await page.get_by_role("link", name="PDF").click()
    saved = await (await download.value).path()
    assert saved.read_bytes().startswith(b"%PDF-")
    assert (await download.value).suggested_filename == "analysis-BJWATER-2026-10.pdf"
    xlsx = await page.request.get("/console/reports/analyses/BJWATER/2026-10.xlsx")
    assert xlsx.ok and await xlsx.body() == b"xlsx of 1 2026-10-01"
    refused = await page.request.get("/console/reports/analyses/BJGAS/2026-10.pdf")
    assert refused.status == 403 and b"%PDF" not in await refused.body()
    assert await audited(engine, "console.refused") == [
        ("utility-staff", "/console/reports/analyses/BJGAS/2026-10.pdf")
    ]
    missing = await page.request.get("/console/reports/analyses/BJWATER/2026-09.pdf")
    assert missing.status == 404
    # another utility's report, or its figures as a file, before anything is computed
    for path in ("/console/reports?report=collection&biller=BJGAS",
                 "/console/reports/download.xlsx?report=aging&biller=BJGAS"):  # fmt: skip
        other = await page.request.get(path)
        assert other.status == 403 and "北京燃气" not in await other.text(), path
    refusals = await audited(engine, "console.refused")
    assert [where for _, where in refusals[1:]] == [
        "/console/reports",
        "/console/reports/download.xlsx",
    ]
    await snapshot(page, "reports")


async def test_operations_see_every_utility_s_and_auditors_cannot_make_one(
    page: Page, people: dict[Role, str], kept: None
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto("/console/reports")
    await expect(page.get_by_role("main")).to_contain_text("BJGAS")
    await expect(page.get_by_role("main")).to_contain_text("BJWATER")
    await page.get_by_role("button", name="退出", exact=True).click()
    await sign_in(page, people[Role.AUDITOR])
    await page.goto("/console/reports")
    await expect(page.get_by_role("main")).to_contain_text("BJGAS")
    assert await page.get_by_role("button", name="立即生成").count() == 0


async def test_make_now_starts_a_job(page: Page, people: dict[Role, str], kept: None) -> None:
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto("/console/reports")
    await page.get_by_label("月份（YYYY-MM）").fill("2026-10")
    await page.get_by_role("button", name="立即生成").click()
    await expect(page.locator(".job")).to_contain_text("BJWATER 2026-10")


async def test_customer_service_is_refused(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    response = await page.goto("/console/reports")
    assert response is not None and response.status == 403
    assert await audited(engine, "console.refused") == [("customer-service", "/console/reports")]


async def test_a_bad_report_or_period_is_refused(page: Page, people: dict[Role, str]) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    for query in ("report=nope", "report=collection&from=2026-11-30&to=2026-11-01",
                  "report=collection&by=planet", "report=collection&from=yesterday"):  # fmt: skip
        response = await page.goto(f"/console/reports?{query}")
        assert response is not None and response.status == 400, query


def test_a_report_s_tables_and_charts_as_the_page_shows_them() -> None:
    report = collection_report()
    (table,) = [table_view(t) for t in report.tables]
    assert table.headers[1] == ("Billed", True)  # the page adds "(元)" to amounts' titles
    assert table.rows[0] == [
        ("北京自来水 东城", False), ("1,234,567.89", True), ("1,200,000.00", True),
        ("97.20%", True), ("10,234", True),
    ]  # fmt: skip
    progress, amounts = (chart_view(c, Locale.ZH_CN) for c in report.charts)
    assert progress.figures.rows[-1] == [("30", False), ("90%", True), ("—", True)]
    assert amounts.figures.rows[1] == [
        ("北京自来水 西城", False),
        ("5,000.00", True),
        ("0.00", True),
    ]
    config = json.loads(str(amounts.config))
    assert config["data"]["datasets"][0]["data"] == [1234567.89, 5000.0]
    assert config["options"]["scales"]["y"]["title"]["text"] == "元"
