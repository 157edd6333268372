"""The monthly collection analysis (月度回收分析) of a utility, with its branches: the five
reports of the month, the month's early warnings and the accounts owing the most at its
end, as one document in PDF and in XLSX.

Gathering the figures is one function (``monthly_analysis``); everything after it takes
``Report``s, so the document is the same whoever computed them. The warnings and the
largest arrears are ``Report``s too: the same PDF pages and the same workbook render them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers
from utilipay.billing.arrears import Arrears, largest_arrears
from utilipay.clock import Clock, day_bounds
from utilipay.collection.collected import month_end, months_back
from utilipay.collection.pdf import render_pdf
from utilipay.collection.phrases import Translate
from utilipay.collection.schemas import (
    Column,
    Period,
    Report,
    ReportName,
    ReportTable,
    Scope,
)
from utilipay.collection.service import REPORTS, build_report
from utilipay.collection.xlsx import workbook
from utilipay.errors import DomainError, ErrorCode
from utilipay.warnings import episodes

LARGEST_SHOWN = 20
TITLE = "Monthly collection analysis"


@dataclass(frozen=True, slots=True)
class WarningLine:
    """A warning of the month as the analysis lists it."""

    raised_at: datetime
    rule: str
    subject: str  # what it is about: the utility, a region, an account
    detail: str
    acknowledged_by: str | None


@dataclass(frozen=True, slots=True)
class Analysis:
    biller_id: int
    biller_code: str
    biller_name: str
    month: Period
    reports: tuple[Report, ...]

    def title(self, translate: Translate) -> str:
        return f"{translate(TITLE)} {self.biller_code} {self.biller_name} {self.month.start:%Y-%m}"


def month_of(text: str) -> date:
    """``YYYY-MM`` → the month's first day; a clear refusal otherwise."""
    try:
        first = datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"month {text!r} is not YYYY-MM (e.g. 2026-11)"
        ) from None
    return first


def month_period(first: date) -> Period:
    return Period(first.replace(day=1), month_end(first))


def previous_month(day: date) -> date:
    return months_back(day, 1)


def _report(
    name: ReportName, title: str, scope: Scope, month: Period, table: ReportTable, empty: str
) -> Report:
    return Report(
        name=name,
        title=title,
        scope=scope,
        requested=month,
        period=month,
        notes=(empty,) if not table.rows else (),
        tables=(table,),
        charts=(),
    )


def warnings_report(lines: Sequence[WarningLine], scope: Scope, month: Period) -> Report:
    table = ReportTable(
        key="warnings",
        title="Warnings raised in the month",
        columns=(
            Column("raised", "Raised", "date"),
            Column("rule", "Rule", "text"),
            Column("subject", "About", "text"),
            Column("detail", "What", "text"),
            Column("acknowledged_by", "Acknowledged by", "text"),
        ),
        rows=tuple(
            (w.raised_at.date(), w.rule, w.subject, w.detail, w.acknowledged_by)
            for w in sorted(lines, key=lambda w: w.raised_at)
        ),
    )
    return _report(ReportName.WARNINGS, "Warnings", scope, month, table, "no warnings this month")


def arrears_report(
    owing: Sequence[Arrears], codes: Mapping[int, str], scope: Scope, month: Period
) -> Report:
    table = ReportTable(
        key="largest-arrears",
        title="The accounts owing the most at the month's end",
        columns=(
            Column("biller", "Utility", "text"),
            Column("account_no", "Account", "text"),
            Column("holder", "Account holder", "text"),
            Column("bills", "Bills overdue", "count"),
            Column("owed", "Amount overdue", "fen"),
            Column("late_fee", "Late fee due", "fen"),
            Column("oldest_due", "Oldest due date", "date"),
            Column("days", "Days overdue", "days"),
        ),
        rows=tuple(
            (
                codes.get(a.biller_id, str(a.biller_id)),
                a.account_no,
                a.holder_name,
                a.bills,
                a.owed,
                a.late_fee,
                a.oldest_due,
                (month.end - a.oldest_due).days,
            )
            for a in owing
        ),
    )
    return _report(ReportName.LARGEST_ARREARS, "Largest arrears", scope, month, table, "no arrears")


async def month_warnings(
    conn: AsyncConnection, billers: Collection[int], month: Period
) -> list[WarningLine]:
    """The warnings the utilities' rules opened in the month, as the document lists them
    (the summary in Chinese: the analysis is made in zh-CN)."""
    since, _ = day_bounds(month.start)
    _, until = day_bounds(month.end)
    return [
        WarningLine(w.opened_at, w.kind, w.subject, w.summary("zh-CN"), w.acknowledged_by)
        for w in await episodes.opened_between(conn, billers, since, until)
    ]


async def monthly_analysis(
    conn: AsyncConnection, clock: Clock, biller_id: int, month: date
) -> Analysis:
    """Gather the month's figures of a utility and its branches."""
    biller = await billers.by_id(conn, biller_id)
    if biller is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no utility {biller_id}")
    group = await billers.group_of(conn, biller_id)
    scope, period = Scope(biller_id, group), month_period(month)
    reports = [await build_report(conn, clock, name, period, scope) for name in REPORTS]
    warnings = await month_warnings(conn, group, period)
    _, end = day_bounds(period.end)
    owing = await largest_arrears(conn, group, period.end, end, LARGEST_SHOWN)
    codes = {b.id: b.code for b in await billers.all_billers(conn) if b.id in group}
    reports += [
        warnings_report(warnings, scope, period),
        arrears_report(owing, codes, scope, period),
    ]
    return Analysis(biller.id, biller.code, biller.name, period, tuple(reports))


def analysis_pdf(analysis: Analysis, translate: Translate) -> bytes:
    subtitle = f"{analysis.month.start} – {analysis.month.end}"
    return render_pdf(
        analysis.reports, title=analysis.title(translate), subtitle=subtitle, translate=translate
    )


def analysis_xlsx(analysis: Analysis) -> bytes:
    """The collection CLI's workbook of the same reports (``collection/xlsx.py``)."""
    return workbook(analysis.reports)
