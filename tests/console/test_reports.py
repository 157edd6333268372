"""The reports page in a real browser: a report of real payments (its table, its chart
drawn by Chart.js, each breakdown, CSV and XLSX of it); the monthly analyses kept, with
their PDF and XLSX, each person seeing their utilities' only; another utility's file by URL
refused (403, audited); "make now" for those who may, of real figures, not for auditors; no
page for customer service.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime

import pypdf
import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.collection.sample import collection_report, hand_made
from tests.conftest import WATER_RULE
from tests.console.conftest import sign_in, snapshot
from tests.console.test_sign_in import audited
from tests.helpers import bill_line, import_bills, payment_body
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.collection.analyses import make_due_analyses
from utilipay.console import jobs as console_jobs
from utilipay.console.i18n import Locale
from utilipay.console.pages.reports import BREAKDOWNS, chart_view, table_view
from utilipay.staff.roles import Role
from utilipay.web.hub import Hub
from utilipay_tools.client import ChannelClient

A_DAY = "report=collection&from=2026-11-22&to=2026-11-22"


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


@pytest.fixture
async def paid(engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient) -> None:
    """Three bills of BJWATER issued on 2026-11-22 (151.45 yuan), one paid by WeChat that
    day (123.45 yuan)."""
    await import_bills(engine, clock, bill_line("B1"), bill_line("B2", amount=700),
                       bill_line("B3", amount=2_100))  # fmt: skip
    body = payment_body("W1", bill_nos=["B1"], amount=12345)
    assert (await wechat.call("POST", "/v1/payments", json=body)).status_code == 201


@pytest.mark.usefixtures("paid")
async def test_a_real_report_its_chart_its_breakdowns_and_its_files(
    page: Page, people: dict[Role, str]
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto(f"/console/reports?{A_DAY}")
    await expect(page.get_by_role("heading", name="应收、实收与回收率")).to_be_visible()
    figures = page.get_by_role("table").filter(has_text="应收与实收")
    await expect(figures.get_by_role("columnheader", name="回收率（金额）")).to_be_visible()
    row = figures.get_by_role("row").filter(has_text="全部")
    for shown in ("3", "151.45", "1", "123.45", "33.33%", "81.51%"):
        await expect(row.get_by_role("cell", name=shown, exact=True).first).to_be_visible()
    await expect(page.get_by_role("heading", name="2026-11回收进度")).to_be_visible()
    drawn = "() => Chart.getChart(document.getElementById('chart-progress')) != null"
    await page.wait_for_function(drawn)
    progress = await page.evaluate(
        "() => Chart.getChart(document.getElementById('chart-progress')).data.datasets"
        ".map(d => [d.label, d.data[21]])"
    )
    assert progress[0] == ["本月", 81.51]  # day 22: collected over billed this month
    for by in BREAKDOWNS:
        response = await page.goto(f"/console/reports?{A_DAY}&by={by}")
        assert response is not None and response.status == 200, by
        await expect(page.get_by_role("main")).to_contain_text("123.45")
    await expect(page.get_by_role("row").filter(has_text="(no outlet)")).to_contain_text("123.45")
    await page.goto("/console/reports?report=aging&from=2026-11-01&to=2026-11-22")
    clipped = "已限定为有数据的日期：2026-11-22至2026-11-22"  # a note with its days, in zh-CN
    await expect(page.locator(".notice").first).to_have_text(clipped)
    csv = await page.request.get(f"/console/reports/download.csv?{A_DAY}&by=channel")
    assert csv.ok and "WECHAT,,,1,1,123.45" in (await csv.text()).replace("\r", "")
    xlsx = await page.request.get(f"/console/reports/download.xlsx?{A_DAY}")
    with zipfile.ZipFile(io.BytesIO(await xlsx.body())) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>151.45</v>" in sheet and "<v>123.45</v>" in sheet and "<v>0.8151</v>" in sheet


@pytest.mark.usefixtures("paid")
async def test_make_now_makes_the_analysis_of_real_figures(
    page: Page, people: dict[Role, str], clock: FrozenClock
) -> None:
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto("/console/reports")
    await page.get_by_label("月份（YYYY-MM）").fill("2026-11")
    await page.get_by_role("button", name="立即生成").click()
    await console_jobs.wait_for_all()
    await expect(page.locator(".job")).to_contain_text("PDF")
    await page.goto("/console/reports")
    listed = page.get_by_role("row").filter(has_text="2026-11")
    await expect(listed).to_contain_text("utility-staff")
    pdf = await page.request.get("/console/reports/analyses/BJWATER/2026-11.pdf")
    assert pdf.ok and (await pdf.body()).startswith(b"%PDF")
    pages = pypdf.PdfReader(io.BytesIO(await pdf.body())).pages
    said = "\n".join(p.extract_text() for p in pages)
    assert "应收、实收与回收率" in said and "123.45" in said and "151.45" in said
    xlsx = await page.request.get("/console/reports/analyses/BJWATER/2026-11.xlsx")
    assert xlsx.ok and zipfile.is_zipfile(io.BytesIO(await xlsx.body()))
