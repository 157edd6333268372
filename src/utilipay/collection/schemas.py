"""The shape every collection report has, whoever renders it: the CLI (JSON, CSV, XLSX),
the admin API, the console's pages and charts, and the monthly analysis (PDF, XLSX).

A report is figures already computed: tables of cells and charts of series. Renderers
format them by the column's kind and never compute; amounts are integer fen, rates are
percentages as ``Decimal`` rounded once where they are made (two places).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal


class ReportName(StrEnum):
    """The reports of issue 13, named as ``utilipay reports NAME`` takes them."""

    COLLECTION = "collection"  # billed, collected, rate; progress by day of the month
    AGING = "aging"  # arrears by age bucket
    CHANNEL_MIX = "channel-mix"  # wallet, bank, counter, agent, POS, voucher, auto-pay, prepaid
    PREPAID = "prepaid"  # accounts by state, top-ups, warning to cut, reconnect times
    AUTOPAY = "autopay"  # mandates signed and cancelled, debits taken, declined, over the cap
    # parts of the monthly analysis (collection/analysis.py), not built by build_report
    WARNINGS = "warnings"  # the month's early warnings
    LARGEST_ARREARS = "largest-arrears"  # the accounts owing the most at the month's end


@dataclass(frozen=True, slots=True)
class Period:
    """Business days (Asia/Shanghai), both ends included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose figures: one utility (``biller_id``, with its branches), or every utility the
    reader may see (``billers`` None: every one, for platform staff)."""

    biller_id: int | None
    billers: frozenset[int] | None


ColumnKind = Literal["text", "count", "fen", "percent", "date", "days"]
Cell = str | int | Decimal | date | None


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # stable, for JSON and the API
    title: str  # English; the console translates it
    kind: ColumnKind


@dataclass(frozen=True, slots=True)
class ReportTable:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: tuple[int | Decimal | None, ...]  # one per label of the chart; None: no figure


ChartKind = Literal["line", "bar", "stacked-bar", "pie"]
ChartUnit = Literal["count", "fen", "percent", "days"]


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    title: str
    kind: ChartKind
    unit: ChartUnit
    labels: tuple[str, ...]
    series: tuple[Series, ...]


@dataclass(frozen=True, slots=True)
class Report:
    name: ReportName
    title: str
    scope: Scope
    requested: Period  # as asked
    period: Period  # as reported: clipped to the days there are figures for
    notes: tuple[str, ...]  # e.g. "no payments in this period", "clipped to 2026-01-01.."
    tables: tuple[ReportTable, ...]
    charts: tuple[Chart, ...]

    @property
    def empty(self) -> bool:
        return all(not table.rows for table in self.tables)
