"""The five collection reports, built from the daily figures (``days.read``): a report
reads a few rows per utility and day, never the history of bills and payments.

``build_report`` is the one entry: the CLI, the admin API, the console and the monthly
analysis call it and render the ``Report`` it returns.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock, business_date
from utilipay.collection import directory, figures
from utilipay.collection.activity import Autopay, ChannelMix, Prepaid
from utilipay.collection.collected import Aging, Collected
from utilipay.collection.directory import BREAKDOWNS
from utilipay.collection.phrases import CLIPPED, NO_FIGURES
from utilipay.collection.schemas import Chart, Period, Report, ReportName, ReportTable, Scope
from utilipay.collection.sums import Ask, Built
from utilipay.errors import DomainError, ErrorCode

BY_SUPPORTED = {
    ReportName.COLLECTION: BREAKDOWNS,
    ReportName.AGING: ("biller", "branch", "region"),
    ReportName.CHANNEL_MIX: (),
    ReportName.PREPAID: (),
    ReportName.AUTOPAY: (),
}
# the reports build_report makes, in their order (warnings and largest arrears are parts of
# the monthly analysis, made there)
REPORTS: tuple[ReportName, ...] = tuple(BY_SUPPORTED)
TITLES = {
    ReportName.COLLECTION: "Billed, collected and collection rate",
    ReportName.AGING: "Arrears by age",
    ReportName.CHANNEL_MIX: "Channel mix",
    ReportName.PREPAID: "Prepaid accounts",
    ReportName.AUTOPAY: "Auto-pay",
}


def _check_by(name: ReportName, by: str | None) -> None:
    if by is None or by in BY_SUPPORTED[name]:
        return
    allowed = ", ".join(BY_SUPPORTED[name]) or "none"
    raise DomainError(
        ErrorCode.MALFORMED_REQUEST, f"the {name} report is not broken down by {by!r} ({allowed})"
    )


def parse_name(given: str) -> ReportName:
    """A report's name as typed, or a refusal listing the names there are."""
    if given not in REPORTS:
        names = ", ".join(n.value for n in REPORTS)
        raise DomainError(ErrorCode.NOT_FOUND, f"no report {given!r}: the reports are {names}")
    return ReportName(given)


async def _clip(
    conn: AsyncConnection, clock: Clock, billers: frozenset[int], requested: Period
) -> tuple[Period | None, list[str]]:
    """The period there are figures for, with a note for each end clipped; None: none."""
    first = await figures.first_day(conn, billers) if billers else None
    today = business_date(clock.now())
    if first is None or first > requested.end or requested.start > today:
        return None, [NO_FIGURES.format(start=requested.start, end=requested.end)]
    start, end = max(requested.start, first), min(requested.end, today)
    notes = []
    if (start, end) != (requested.start, requested.end):
        notes.append(CLIPPED.format(start=start, end=end))
    return Period(start, end), notes


async def build_report(
    conn: AsyncConnection,
    clock: Clock,
    name: ReportName,
    requested: Period,
    scope: Scope,
    *,
    by: str | None = None,
) -> Report:
    """Report ``name`` for the ``requested`` business days, over the utilities of ``scope``
    (a utility the reader may not see: ``FORBIDDEN``), broken down ``by`` where it may be."""
    parse_name(name)
    _check_by(name, by)
    places = await directory.load(conn)
    billers = places.covered(scope)
    period, notes = await _clip(conn, clock, billers, requested)
    tables: tuple[ReportTable, ...]
    charts: tuple[Chart, ...] = ()
    builder = BUILDERS[name]
    if period is None:
        tables = builder.empty(by)
    else:
        tables, charts = await builder.build(Ask(conn, clock, places, billers, period, by))
        if all(not t.rows for t in tables):
            notes.append(NO_FIGURES.format(start=period.start, end=period.end))
    return Report(
        name=name,
        title=TITLES[name],
        scope=scope,
        requested=requested,
        period=period or requested,
        notes=tuple(notes),
        tables=tables,
        charts=charts,
    )


class Builder(Protocol):
    def empty(self, by: str | None) -> tuple[ReportTable, ...]: ...

    async def build(self, ask: Ask) -> Built: ...


BUILDERS: dict[ReportName, Builder] = {
    ReportName.COLLECTION: Collected(),
    ReportName.AGING: Aging(),
    ReportName.CHANNEL_MIX: ChannelMix(),
    ReportName.PREPAID: Prepaid(),
    ReportName.AUTOPAY: Autopay(),
}
