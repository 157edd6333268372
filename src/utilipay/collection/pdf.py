"""Reports as PDF pages (reportlab): each report from a new page, its title, period and
notes, its tables (figures right-aligned, amounts in yuan) and its charts, drawn with
``reportlab.graphics.charts`` (line, bar, stacked bar, pie) from the same series.

Every word is set in reportlab's built-in CID font STSong-Light (Adobe-GB1, Latin
included): the PDF names the font and the reader supplies it, so no font file is needed
(as the receipt, ``receipts/pdf.py``). Words are English unless the caller gives a
``translate`` (the stored analyses are made in zh-CN with the console's catalog).
Nothing is computed here: the figures are the report's.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from decimal import Decimal

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing
from reportlab.graphics.widgets.markers import Marker
from reportlab.lib import colors
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from utilipay.collection.cells import is_number, shown
from utilipay.collection.charts import UNIT_TITLE, identity, in_unit
from utilipay.collection.phrases import Translate, translated
from utilipay.collection.schemas import Chart, ChartUnit, Report, ReportTable

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_MARGIN = 15 * mm
_WIDTH = A4[0] - 2 * _MARGIN
_CHART_HEIGHT = 62 * mm
_MOST_CATEGORY_LABELS = 12  # more would overlap: every n-th day is named
_PALETTE = (
    colors.HexColor("#1f5fa8"),
    colors.HexColor("#d9822b"),
    colors.HexColor("#2e8b57"),
    colors.HexColor("#b03a48"),
    colors.HexColor("#6a4c93"),
    colors.HexColor("#7f7f7f"),
    colors.HexColor("#c9a227"),
    colors.HexColor("#17a2b8"),
)


# a TableStyle command: its name, the cells' corners, its arguments
_Command = tuple[str, tuple[int, int], tuple[int, int], *tuple[object, ...]]


def _style(size: float, *, leading: float | None = None) -> ParagraphStyle:
    return ParagraphStyle(
        f"s{size}", fontName=FONT, fontSize=size, leading=leading or size * 1.35, wordWrap="CJK"
    )


_TITLE = _style(18)
_HEADING = _style(13)
_SUBHEADING = _style(10)
_BODY = _style(8.5)


def _text(words: str) -> str:
    """Paragraphs read a little markup: the report's words are text, not markup."""
    return words.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _heading(words: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(_text(words), style)


def _column_title(title: str, kind: str, translate: Translate) -> str:
    return f"{translate(title)} ({translate('yuan')})" if kind == "fen" else translate(title)


def _table(table: ReportTable, translate: Translate) -> list[Flowable]:
    caption = _heading(translate(table.title), _SUBHEADING)
    if not table.rows:
        return [caption, _heading(translate("No figures."), _BODY), Spacer(1, 4 * mm)]
    header = [_column_title(c.title, c.kind, translate) for c in table.columns]
    body = [
        [shown(cell, column.kind) for cell, column in zip(row, table.columns, strict=True)]
        for row in table.rows
    ]
    grid = Table([header, *body], repeatRows=1, hAlign="LEFT")
    style: list[_Command] = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    for n, column in enumerate(table.columns):
        if is_number(column.kind):
            style.append(("ALIGN", (n, 0), (n, -1), "RIGHT"))
    grid.setStyle(TableStyle(style))
    return [caption, grid, Spacer(1, 5 * mm)]


def _drawn(value: int | Decimal | None, unit: ChartUnit) -> float | None:
    """A point as the drawing places it (yuan for amounts): a position on the page, not
    money, so a float is what reportlab takes."""
    figure = in_unit(value, unit)
    return None if figure is None else float(figure)


def _category_names(labels: Sequence[str]) -> list[str]:
    step = max(1, math.ceil(len(labels) / _MOST_CATEGORY_LABELS))
    return [label if n % step == 0 else "" for n, label in enumerate(labels)]


def _line_style(
    plot: HorizontalLineChart, n: int, points: Sequence[float | None], color: Color
) -> None:
    """Series ``n`` as a line through its figures; one with a lone figure (the first day of
    a month) as a dot, and one with none as nothing: reportlab joins a series' figures over
    its gaps but cannot draw a line of no point."""
    line = plot.lines[n]
    line.strokeColor, line.strokeWidth = color, 1.2
    figures = sum(p is not None for p in points)
    line.lineStyle = "joinedLine" if figures > 1 else None
    if figures == 1:
        line.symbol = Marker(kind="FilledCircle", size=3, fillColor=color, strokeColor=color)


def _axes_chart(chart: Chart, drawing: Drawing) -> None:
    data = [tuple(_drawn(p, chart.unit) for p in s.points) for s in chart.series]
    plot: HorizontalLineChart | VerticalBarChart = (
        HorizontalLineChart() if chart.kind == "line" else VerticalBarChart()
    )
    plot.x, plot.y = round(18 * mm), round(12 * mm)
    plot.width, plot.height = round(_WIDTH - 62 * mm), round(_CHART_HEIGHT - 18 * mm)
    plot.data = data
    plot.categoryAxis.categoryNames = _category_names(chart.labels)
    plot.categoryAxis.labels.fontName = FONT
    plot.categoryAxis.labels.fontSize = 6.5
    plot.valueAxis.labels.fontName = FONT
    plot.valueAxis.labels.fontSize = 6.5
    plot.valueAxis.valueMin = 0
    plot.valueAxis.labelTextFormat = lambda v: f"{v:,.0f}"
    if isinstance(plot, HorizontalLineChart):
        plot.joinedLines = False  # each series' own lineStyle says whether it is joined
    if chart.kind == "stacked-bar":
        plot.categoryAxis.style = "stacked"
    for n in range(len(chart.series)):
        color = _PALETTE[n % len(_PALETTE)]
        if isinstance(plot, HorizontalLineChart):
            _line_style(plot, n, data[n], color)
        else:
            plot.bars[n].fillColor = color
            plot.bars[n].strokeColor = None
    drawing.add(plot)


def _pie_chart(chart: Chart, drawing: Drawing) -> bool:
    """The first series as slices; False when there is nothing to cut."""
    values = [_drawn(p, chart.unit) or 0.0 for p in chart.series[0].points]
    if not any(v > 0 for v in values):
        return False
    pie = Pie()
    pie.x, pie.y = round(10 * mm), round(4 * mm)
    pie.width = pie.height = round(_CHART_HEIGHT - 10 * mm)
    pie.data = values
    pie.simpleLabels = True
    pie.slices.strokeColor = colors.white
    for n in range(len(values)):
        pie.slices[n].fillColor = _PALETTE[n % len(_PALETTE)]
    drawing.add(pie)
    return True


def _legend(names: Sequence[str], drawing: Drawing) -> None:
    legend = Legend()
    legend.x, legend.y = round(_WIDTH - 40 * mm), round(_CHART_HEIGHT - 8 * mm)
    legend.fontName = FONT
    legend.fontSize = 7
    legend.alignment = "right"
    legend.colorNamePairs = [(_PALETTE[n % len(_PALETTE)], name) for n, name in enumerate(names)]
    drawing.add(legend)


def _chart(chart: Chart, translate: Translate) -> list[Flowable]:
    unit = translate(UNIT_TITLE[chart.unit])
    caption = _heading(f"{translate(chart.title)} ({unit})", _SUBHEADING)
    drawing = Drawing(_WIDTH, _CHART_HEIGHT)
    if chart.kind == "pie":
        if not chart.series or not _pie_chart(chart, drawing):
            return [caption, _heading(translate("No figures."), _BODY)]
        _legend([translate(label) for label in chart.labels], drawing)
    else:
        _axes_chart(chart, drawing)
        _legend([translate(s.label) for s in chart.series], drawing)
    return [KeepTogether([caption, drawing]), Spacer(1, 4 * mm)]


def _report(report: Report, translate: Translate) -> list[Flowable]:
    period = report.period
    parts: list[Flowable] = [
        _heading(translate(report.title), _HEADING),
        _heading(f"{translate('Reporting period')}: {period.start} – {period.end}", _BODY),
    ]
    parts += [_heading(translate(note), _BODY) for note in report.notes]
    parts.append(Spacer(1, 4 * mm))
    for table in report.tables:
        parts += _table(table, translate)
    for chart in report.charts:
        parts += _chart(chart, translate)
    return parts


def render_pdf(
    reports: Sequence[Report],
    *,
    title: str,
    subtitle: str = "",
    translate: Translate = identity,
) -> bytes:
    """One document: the title on the first page, then each report from a new page."""
    translate = translated(translate)
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=title,
        author="utilipay",
        creator="utilipay",
        invariant=True,  # the same reports, the same bytes
    )
    story: list[Flowable] = [_heading(title, _TITLE), _heading(subtitle, _SUBHEADING)]
    for n, report in enumerate(reports):
        if n:
            story.append(PageBreak())
        story += _report(report, translate)

    def number_page(canvas: Canvas, _document: object) -> None:
        canvas.setFont(FONT, 7.5)
        canvas.drawRightString(A4[0] - _MARGIN, 8 * mm, f"{title} · {canvas.getPageNumber()}")

    document.build(story, onFirstPage=number_page, onLaterPages=number_page)
    return out.getvalue()
