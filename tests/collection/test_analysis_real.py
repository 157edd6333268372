"""The monthly analysis end to end on real data: a utility and its branch, bills imported
and paid through the channel API in November, an early-warning rule that fires, the month
closed by the worker's pass; then the analysis holds the five reports with those figures,
the month's warning and the largest arrears, and its PDF and XLSX show them."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime

import pypdf
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.collection.test_reports import pay, table
from tests.conftest import water
from tests.helpers import bill_line, import_bills, payment_body
from tests.warnings.rows import bill, branch
from utilipay.clock import FrozenClock
from utilipay.collection import days
from utilipay.collection.analysis import Analysis, analysis_pdf, analysis_xlsx, monthly_analysis
from utilipay.collection.schemas import Report, ReportName
from utilipay.collection.sums import rate
from utilipay.console.i18n import Locale, translator
from utilipay.warnings import rules
from utilipay.warnings.evaluate import evaluate_all
from utilipay.web.hub import Hub
from utilipay_tools.client import ChannelClient

NOVEMBER = date(2026, 11, 1)
OLD_ACCOUNT = "0299999999"


def part(analysis: Analysis, name: ReportName) -> Report:
    return next(r for r in analysis.reports if r.name == name)


@pytest.fixture
async def november(
    engine: AsyncEngine,
    clock: FrozenClock,
    world: dict[str, object],
    wechat: ChannelClient,
    alipay: ChannelClient,
    hub: Hub,
) -> Analysis:
    """BJWATER and its branch BJWDC: an old bill of September never paid, three bills
    issued on 22 November, two paid that day (one at the branch), a warning rule on the old
    debt; the month closed on 1 December and its analysis gathered."""
    await branch(engine, clock, "BJWDC", "110101")
    await hub.directory.reload()
    await bill(engine, clock, "OLD1", issued=date(2026, 9, 1), amount=88_800,
               due=date(2026, 10, 1), account=OLD_ACCOUNT)  # fmt: skip
    await import_bills(engine, clock, bill_line("B1"), bill_line("B2", amount=700),
                       bill_line("D1", amount=5_000).replace("BJWATER", "BJWDC", 1))  # fmt: skip
    await pay(wechat, "W1", "B1", 12345)
    body = payment_body("A1", biller="BJWDC", bill_nos=["D1"], amount=5_000)
    assert (await alipay.call("POST", "/v1/payments", json=body)).status_code == 201
    async with engine.begin() as conn:
        await rules.add_rule(conn, clock, water(world).id, "account_arrears",
                             {"amount_fen": 50_000, "days": 30}, actor="test")  # fmt: skip
    assert (await evaluate_all(engine, clock)).opened == 1
    clock.set(datetime(2026, 12, 1, 2, tzinfo=UTC))  # 10:00 on 1 December in Shanghai
    assert (await days.close(engine, clock)).attempted > 0
    async with engine.connect() as conn:
        return await monthly_analysis(conn, clock, water(world).id, NOVEMBER)


def test_the_analysis_has_the_month_s_figures(november: Analysis) -> None:
    assert [r.name for r in november.reports] == [
        ReportName.COLLECTION, ReportName.AGING, ReportName.CHANNEL_MIX, ReportName.PREPAID,
        ReportName.AUTOPAY, ReportName.WARNINGS, ReportName.LARGEST_ARREARS,
    ]  # fmt: skip
    billed, collected = 12345 + 700 + 5_000, 12345 + 5_000
    assert table(part(november, ReportName.COLLECTION)) == [
        {"group": "all", "billed_bills": 3, "billed": billed, "payments": 2,
         "collected_bills": 2, "collected": collected, "rate_count": rate(2, 3),
         "rate": rate(collected, billed)},
    ]  # fmt: skip
    mix = {r["class"]: (r["count"], r["amount"]) for r in table(
        part(november, ReportName.CHANNEL_MIX))}  # fmt: skip
    assert mix["Wallet"] == (2, collected)
    aging = table(part(november, ReportName.AGING))
    assert {"bucket": "31-60", "accounts": 1, "bills": 1, "amount": 88_800} in aging
    (warning,) = table(part(november, ReportName.WARNINGS))
    assert warning["rule"] == "account_arrears"
    assert warning["subject"] == f"BJWATER/{OLD_ACCOUNT}"
    assert warning["raised"] == date(2026, 11, 22)
    # B2, due on the month's last day, is not overdue at its end (as the aging counts it)
    (owing,) = table(part(november, ReportName.LARGEST_ARREARS))
    assert (owing["account_no"], owing["owed"], owing["days"]) == (OLD_ACCOUNT, 88_800, 60)


def test_the_pdf_and_the_workbook_show_them(november: Analysis) -> None:
    pdf = analysis_pdf(november, translator(Locale.ZH_CN))
    words = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "月度回收分析 BJWATER" in words
    assert "173.45" in words  # collected in November, in yuan
    assert "888.00" in words  # the old debt: in the aging and the largest arrears
    assert OLD_ACCOUNT in words and "account_arrears" in words
    # the reports' own words in the console's zh-CN, a dated chart title among them
    for said in ("应收、实收与回收率", "回收率（金额）", "2026-11回收进度", "上月", "各渠道缴费"):
        assert said in words, said
    with zipfile.ZipFile(io.BytesIO(analysis_xlsx(november))) as book:
        sheets = "".join(
            book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/")
        )
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "<v>173.45</v>" in sheets and "<v>888</v>" in sheets
    assert OLD_ACCOUNT in strings and "account_arrears" in strings
