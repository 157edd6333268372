"""Collection reports: pick a report, a period, a utility and a breakdown; its tables, its
charts (the vendored Chart.js, with the same figures as tables under them), and CSV or
XLSX of it; the monthly analyses kept (PDF, XLSX) and "make now".

Utility staff see their utility and its branches only: another utility by URL is refused
(403, audited). The figures are the collection service's (``build_report``), rendered by
``collection.cells`` and ``collection.charts`` as the PDF renders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from utilipay.clock import business_date
from utilipay.collection import analyses, service, xlsx
from utilipay.collection.analyses import documents_maker, make_now
from utilipay.collection.analysis import month_of
from utilipay.collection.cells import is_number, shown
from utilipay.collection.charts import config_json
from utilipay.collection.phrases import translated
from utilipay.collection.render import report_csv
from utilipay.collection.schemas import Chart, Period, Report, ReportName, ReportTable, Scope
from utilipay.console import jobs as console_jobs
from utilipay.console.i18n import Locale, locale_of, translator, words
from utilipay.console.pages.accounts import accounts_host, billers_of, seen_biller
from utilipay.console.pages.imports import launched
from utilipay.console.templating import PAGE_HEADERS, render
from utilipay.console.visits import needs
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
Reader = Annotated[Staff, needs(Permission.REPORTS_READ)]
Maker = Annotated[Staff, needs(Permission.ANALYSES_MAKE)]
Text = Annotated[str, Query(max_length=64)]
KIND = "collection.analysis"
# a breakdown's name (the query's) → its words; "channel" alone means another thing in
# another page's catalog
BREAKDOWNS = {
    "biller": words("Biller"),
    "branch": words("Branch"),
    "region": words("Region"),
    "channel-kind": words("Channel kind"),
    "channel": words("Channel"),
    "outlet": words("Outlet"),
}


@dataclass(frozen=True, slots=True)
class ShownTable:
    title: str
    headers: list[tuple[str, bool]]  # (English title, a figure column)
    rows: list[list[tuple[str, bool]]]  # (text, right-aligned)


@dataclass(frozen=True, slots=True)
class ShownChart:
    key: str
    title: str  # in the page's language
    config: Markup  # JSON, escaped for a script block (collection.charts.config_json)
    figures: ShownTable  # the same figures, for those who do not see the chart


def table_view(table: ReportTable) -> ShownTable:
    return ShownTable(
        table.title,
        [(c.title, c.kind == "fen") for c in table.columns],
        [
            [(shown(v, c.kind), is_number(c.kind)) for v, c in zip(row, table.columns, strict=True)]
            for row in table.rows
        ],
    )


def chart_view(chart: Chart, locale: Locale) -> ShownChart:
    figures = ShownTable(
        chart.title,
        [("", False)] + [(s.label, chart.unit == "fen") for s in chart.series],
        [
            [(label, False)] + [(shown(s.points[n], chart.unit), True) for s in chart.series]
            for n, label in enumerate(chart.labels)
        ],
    )
    say = translated(translator(locale))
    config = Markup(config_json(chart, say))  # noqa: S704 (escaped for <script>)
    return ShownChart(chart.key, say(chart.title), config, figures)


@dataclass(frozen=True, slots=True)
class Asked:
    """The form: which report, when, whose, broken down how."""

    name: ReportName
    period: Period
    biller: str
    by: str

    def query(self) -> str:
        return (
            f"report={self.name}&from={self.period.start}&to={self.period.end}"
            f"&biller={quote(self.biller)}&by={quote(self.by)}"
        )


def _asked(report: str, start: str, end: str, biller: str, by: str, today: date) -> Asked:
    try:
        name = ReportName(report)
        period = Period(
            date.fromisoformat(start) if start else today.replace(day=1),
            date.fromisoformat(end) if end else today,
        )
    except ValueError as exc:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, str(exc)) from None
    if name not in service.REPORTS or (by and by not in BREAKDOWNS):
        raise DomainError(ErrorCode.MALFORMED_REQUEST, words("No such report or breakdown."))
    return Asked(name, period, biller, by)


async def _report(request: Request, staff: Staff, asked: Asked) -> Report:
    hub = accounts_host(request)
    biller_id = None
    if asked.biller:
        biller_id = (await seen_biller(request, staff, asked.biller, "a report")).id
    async with hub.engine.connect() as conn:
        return await service.build_report(
            conn, hub.clock, asked.name, asked.period, Scope(biller_id, staff.billers),
            by=asked.by or None,
        )  # fmt: skip


async def _page(
    request: Request, staff: Staff, asked: Asked | None, status: int = 200, **more: object
) -> Response:
    hub = accounts_host(request)
    report = await _report(request, staff, asked) if asked is not None else None
    async with hub.engine.connect() as conn:
        kept = await analyses.stored(conn, staff.billers)
    locale = locale_of(request)
    context: dict[str, object] = {"job": None, "error": ""}
    context.update(more)
    return render(
        request, "reports.html", status_code=status, asked=asked, report=report,
        tables=[table_view(t) for t in report.tables] if report else [],
        charts=[chart_view(c, locale) for c in report.charts] if report else [],
        reports=service.REPORTS, breakdowns=BREAKDOWNS, billers=billers_of(request, staff),
        kept=kept, code_of=hub.biller_code, today=business_date(hub.clock.now()),
        may_make=staff.may(Permission.ANALYSES_MAKE), say=translated(translator(locale)),
        interrupted=False, **context,
    )  # fmt: skip


@router.get("/reports")
async def reports_page(
    request: Request,
    staff: Reader,
    report: Text = "",
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
    biller: Text = "",
    by: Text = "",
) -> Response:
    today = business_date(accounts_host(request).clock.now())
    asked = _asked(report, start, end, biller, by, today) if report else None
    return await _page(request, staff, asked)


@router.get("/reports/download.{kind}")
async def download(
    request: Request,
    staff: Reader,
    kind: str,
    report: Text,
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
    biller: Text = "",
    by: Text = "",
) -> Response:
    if kind not in ("csv", "xlsx"):
        raise DomainError(ErrorCode.NOT_FOUND, words("No such page."))
    today = business_date(accounts_host(request).clock.now())
    asked = _asked(report, start, end, biller, by, today)
    built = await _report(request, staff, asked)
    content = report_csv(built) if kind == "csv" else xlsx.workbook([built])
    media = "text/csv; charset=utf-8" if kind == "csv" else analyses.MEDIA_TYPES["xlsx"]
    name = f"{asked.name}-{asked.period.start}-{asked.period.end}.{kind}"
    return _attachment(content, media, name)


def _attachment(content: bytes, media: str, name: str) -> Response:
    headers = {**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content, media_type=media, headers=headers)


@router.get("/reports/analyses/{code}/{month}.{kind}")
async def analysis_file(
    request: Request, staff: Reader, code: str, month: str, kind: analyses.Kind
) -> Response:
    found = await seen_biller(request, staff, code, f"the analysis of {code}")
    first = month_of(month)
    async with accounts_host(request).engine.connect() as conn:
        content = await analyses.document(conn, found.id, first, kind)
    if content is None:
        raise DomainError(ErrorCode.NOT_FOUND, words("No analysis of that month yet."))
    name = f"analysis-{found.code}-{first:%Y-%m}.{kind}"
    return _attachment(content, analyses.MEDIA_TYPES[kind], name)


@router.post("/reports/analyses")
async def make_analysis(
    request: Request,
    staff: Maker,
    biller: Annotated[str, Form(max_length=32)],
    month: Annotated[str, Form(max_length=7)],
) -> Response:
    found = await seen_biller(request, staff, biller, f"an analysis of {biller}")
    first = month_of(month)
    hub = accounts_host(request)
    make = documents_maker(translator(Locale.ZH_CN))

    async def work(progress: console_jobs.Progress) -> console_jobs.Outcome:
        async with hub.engine.begin() as conn:
            documents = await make_now(conn, hub.clock, found.id, first, make, actor=staff.username)
        return f"PDF {len(documents.pdf):,} bytes, XLSX {len(documents.xlsx):,} bytes", None

    title = f"{found.code} {first:%Y-%m}"
    job = await launched(request, staff, kind=KIND, biller_id=found.id, title=title, work=work)
    return await _page(request, staff, None, 202, job=job)
