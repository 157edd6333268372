"""Reports as PDF pages, read back with pypdf: the titles, the figures as the tables give
them (amounts in yuan, right-aligned), a page for each report, charts drawn, Chinese set."""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pypdf

from tests.collection.sample import channel_mix_report, collection_report, empty_report
from utilipay.collection.pdf import render_pdf
from utilipay.collection.schemas import Series


def _pages(pdf: bytes) -> list[pypdf.PageObject]:
    assert pdf.startswith(b"%PDF-")
    return list(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_a_report_s_titles_notes_and_figures_are_on_its_page() -> None:
    pdf = render_pdf([collection_report()], title="月度回收分析 BJWATER", subtitle="2026-11")
    (page,) = _pages(pdf)[:1]
    text = page.extract_text()
    for shown in (
        "月度回收分析 BJWATER",
        "Collection",
        "2026-11-01 – 2026-11-30",
        "clipped to 2026-11-01..2026-11-30",
        "Billed and collected by branch",
        "Billed (yuan)",
        "北京自来水 东城",
        "1,234,567.89",  # 123,456,789 fen
        "1,200,000.00",
        "5,000.00",
        "97.20%",
        "10,234",
        "Collection progress by day of the month (Percent)",
    ):
        assert shown in text, shown


def test_amounts_are_right_aligned_in_their_column() -> None:
    pdf = render_pdf([collection_report()], title="t")
    starts: dict[str, float] = {}

    def seen(text: str, _cm: object, tm: list[float], _font: object, _size: object) -> None:
        if text.strip():
            starts.setdefault(text.strip(), tm[4])

    _pages(pdf)[0].extract_text(visitor_text=seen)
    # the shorter figure of the Billed column starts further right: their ends line up
    assert starts["5,000.00"] > starts["1,234,567.89"]
    assert starts["北京自来水 西城"] == starts["北京自来水 东城"]  # text starts at the left


def test_each_report_begins_a_page_and_charts_are_drawn() -> None:
    reports = [collection_report(), channel_mix_report(), empty_report()]
    pages = _pages(render_pdf(reports, title="Monthly collection analysis"))
    assert len(pages) >= 3
    texts = [p.extract_text() for p in pages]
    first_of = {title: next(n for n, t in enumerate(texts) if title in t) for title in (
        "Channel mix", "Auto-pay")}  # fmt: skip
    assert first_of["Channel mix"] < first_of["Auto-pay"]
    assert "45,000.00" in texts[first_of["Channel mix"]]
    assert "wallet" in texts[first_of["Channel mix"]]  # the pie's legend
    auto_pay = texts[first_of["Auto-pay"]]
    assert "no payments in this period" in auto_pay and "No figures." in auto_pay
    # the line and bar charts are paths on the first report's pages, not only text
    contents = [p.get_contents() for p in pages[: first_of["Channel mix"]]]
    drawn = b"".join(c.get_data() for c in contents if c is not None)
    assert drawn.count(b" l") > 30  # the lines of 30 days, the axes, the bars
    assert all(f"Monthly collection analysis · {n + 1}" in t for n, t in enumerate(texts))


def test_words_are_translated_and_markup_is_text() -> None:
    report = collection_report()
    catalog = {"Collection": "回收情况", "Billed (yuan)": "x", "yuan": "元", "Billed": "应收"}
    pdf = render_pdf([report], title="<b>A & B</b>", translate=lambda w: catalog.get(w, w))
    text = _pages(pdf)[0].extract_text()
    assert "回收情况" in text and "应收 (元)" in text
    assert "<b>A & B</b>" in text


def test_the_same_reports_make_the_same_bytes() -> None:
    reports = [collection_report(), channel_mix_report()]
    assert render_pdf(reports, title="t") == render_pdf(reports, title="t")


def _operators(page: pypdf.PageObject) -> Counter[bytes]:
    """How often each path operator (line to, curve to, rectangle) is used on the page."""
    contents = page.get_contents()
    assert contents is not None
    return Counter(re.findall(rb"(?<=[0-9.]) (l|c|re)(?=[ \n])", contents.get_data()))


def test_a_progress_line_with_a_lone_day_is_a_dot_and_one_with_no_day_nothing() -> None:
    """The first day of a month has one point, last year may have none: the chart stays a
    line chart (not refused, not bars): the month before a line through its days, the lone
    day a dot (its curves), the series with no day nothing."""
    report = collection_report()
    progress = report.charts[0]
    days = len(progress.labels)
    lone = Series("this month", (Decimal("12.50"), *([None] * (days - 1))))
    nothing = Series("same month last year", tuple([None] * days))
    odd = replace(progress, kind="line", series=(progress.series[0], lone, nothing))
    pdf = render_pdf([replace(report, charts=(odd,), tables=())], title="t", subtitle="s")
    page = _pages(pdf)[0]
    assert "Collection progress" in page.extract_text()
    drawn = _operators(page)
    assert drawn[b"l"] >= days - 1  # the line through the month before's days
    assert drawn[b"c"] >= 4  # the lone day's dot: a circle is four curves
    assert drawn[b"re"] < days  # no bar per day
