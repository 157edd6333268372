"""Reports built by hand from the schema, as ``build_report`` would give them: what the
renderers (charts, PDF, the analysis document) are tested with."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock
from utilipay.collection import analyses
from utilipay.collection.analyses import Documents
from utilipay.collection.analysis import Analysis, WarningLine, analysis_pdf, warnings_report
from utilipay.collection.schemas import (
    Chart,
    Column,
    Period,
    Report,
    ReportName,
    ReportTable,
    Scope,
    Series,
)

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
WATER = Scope(biller_id=1, billers=frozenset({1}))


def collection_report(days: int = 30) -> Report:
    """Billed and collected per branch, and the progress by day against last month."""
    table = ReportTable(
        key="by-branch",
        title="Billed and collected by branch",
        columns=(
            Column("branch", "Branch", "text"),
            Column("billed", "Billed", "fen"),
            Column("collected", "Collected", "fen"),
            Column("rate", "Collection rate", "percent"),
            Column("bills", "Bills", "count"),
        ),
        rows=(
            ("北京自来水 东城", 123_456_789, 120_000_000, Decimal("97.20"), 10_234),
            ("北京自来水 西城", 5_000_00, 0, Decimal("0.00"), 7),
        ),
    )
    labels = tuple(str(d) for d in range(1, days + 1))
    progress = Chart(
        key="progress",
        title="Collection progress by day of the month",
        kind="line",
        unit="percent",
        labels=labels,
        series=(
            Series("This month", tuple(Decimal(3 * d) for d in range(1, days + 1))),
            Series(
                "Last month",
                tuple(Decimal(d * 2) if d < days else None for d in range(1, days + 1)),
            ),
        ),
    )
    amounts = Chart(
        key="amounts",
        title="Billed and collected",
        kind="bar",
        unit="fen",
        labels=("北京自来水 东城", "北京自来水 西城"),
        series=(Series("Billed", (123_456_789, 500_000)), Series("Collected", (120_000_000, 0))),
    )
    return Report(
        name=ReportName.COLLECTION,
        title="Collection",
        scope=WATER,
        requested=NOVEMBER,
        period=NOVEMBER,
        notes=("clipped to 2026-11-01..2026-11-30",),
        tables=(table,),
        charts=(progress, amounts),
    )


def channel_mix_report() -> Report:
    table = ReportTable(
        key="by-kind",
        title="Payments by channel kind",
        columns=(
            Column("kind", "Channel kind", "text"),
            Column("payments", "Payments", "count"),
            Column("amount", "Amount", "fen"),
        ),
        rows=(("wallet", 900, 4_500_000), ("counter", 100, 2_500_050)),
    )
    pie = Chart(
        key="mix",
        title="Channel mix by amount",
        kind="pie",
        unit="fen",
        labels=("wallet", "counter"),
        series=(Series("Amount", (4_500_000, 2_500_050)),),
    )
    return Report(
        name=ReportName.CHANNEL_MIX,
        title="Channel mix",
        scope=WATER,
        requested=NOVEMBER,
        period=NOVEMBER,
        notes=(),
        tables=(table,),
        charts=(pie,),
    )


def empty_report(name: ReportName = ReportName.AUTOPAY) -> Report:
    return Report(
        name=name,
        title="Auto-pay",
        scope=WATER,
        requested=NOVEMBER,
        period=NOVEMBER,
        notes=("no payments in this period",),
        tables=(
            ReportTable(
                key="mandates",
                title="Mandates",
                columns=(Column("signed", "Signed", "count"),),
                rows=(),
            ),
        ),
        charts=(),
    )


def hand_made_analysis() -> Analysis:
    warnings = warnings_report(
        [
            WarningLine(
                datetime(2026, 11, 9, 2, tzinfo=UTC),
                "rate below last month",
                "BJWATER",
                "collection rate on day 9 is 6.5 points below October",
                "utility-staff",
            )
        ],
        WATER,
        NOVEMBER,
    )
    return Analysis(
        1,
        "BJWATER",
        "北京自来水",
        NOVEMBER,
        (collection_report(), channel_mix_report(), warnings),
    )


def hand_made(made: list[tuple[int, date]]) -> analyses.MakeDocuments:
    """Renders a hand-built analysis (the figures' gathering, build_report, is the
    collection service's) and takes long enough for two passes to meet."""

    async def make(conn: AsyncConnection, clock: Clock, biller_id: int, month: date) -> Documents:
        await asyncio.sleep(0.05)
        made.append((biller_id, month))
        pdf = analysis_pdf(hand_made_analysis(), str)
        return Documents(pdf, f"xlsx of {biller_id} {month}".encode())

    return make
