"""The ``collection`` report (billed, collected, the collection rate, the month's progress
against the month before and the same month last year) and the ``aging`` report (arrears
at the period's end by days past due)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from utilipay.clock import business_date
from utilipay.collection.directory import by_channel
from utilipay.collection.phrases import AGING_AT, PROGRESS
from utilipay.collection.schemas import Cell, Chart, Column, ReportTable, Series
from utilipay.collection.sums import NOTHING, Ask, Built, rate, summed

AGE_BUCKETS = ("0-30", "31-60", "61-90", "91-180", "180+")
# the progress chart's lines: the month, and the months it is compared with (months back)
PROGRESS_SERIES = {"This month": 0, "Previous month": 1, "Same month last year": 12}


class Collected:
    COLUMNS = (
        Column("billed_bills", "Bills billed", "count"),
        Column("billed", "Billed", "fen"),
        Column("payments", "Payments", "count"),
        Column("collected_bills", "Bills collected", "count"),
        Column("collected", "Collected", "fen"),
        Column("rate_count", "Collection rate (bills)", "percent"),
        Column("rate", "Collection rate (amount)", "percent"),
    )

    @staticmethod
    def _table(by: str | None, rows: tuple[tuple[Cell, ...], ...]) -> ReportTable:
        label = Column("group", (by or "scope").replace("-", " ").capitalize(), "text")
        return ReportTable("collection", "Billed and collected", (label, *Collected.COLUMNS),
                           rows)  # fmt: skip

    @staticmethod
    def empty(by: str | None) -> tuple[ReportTable, ...]:
        return (Collected._table(by, ()),)

    @staticmethod
    async def build(ask: Ask) -> Built:
        found = await ask.read(("billed", "payments"))  # fmt: skip
        by, places = ask.by, ask.places
        billed = summed((r for r in found if r.metric == "billed"),
                        lambda r: places.group(None if by_channel(by) else by, r))  # fmt: skip
        paid = summed((r for r in found if r.metric == "paid"), lambda r: places.group(by, r))
        total = billed.get("all", NOTHING)
        lines: list[tuple[Cell, ...]] = []
        for label in sorted(set(paid) | (set() if by_channel(by) else set(billed))):
            p = paid.get(label, NOTHING)
            b = total if by_channel(by) else billed.get(label, NOTHING)
            shown = (None, None) if by_channel(by) else (b[1], b[2])
            if any((*p[:3], b[1], b[2])):
                lines.append((label, *shown, p[0], p[1], p[2], rate(p[1], b[1]), rate(p[2], b[2])))
        chart = await _progress(ask)
        return (Collected._table(by, tuple(lines)),), (chart,)


def months_back(month: date, back: int) -> date:
    """The first day of the month ``back`` months before ``month``'s (after it if negative)."""
    index = month.year * 12 + month.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    """The last day of ``month``'s month."""
    return months_back(month, -1) - timedelta(days=1)


async def _progress(ask: Ask) -> Chart:
    """The cumulative collection rate by day of the month the period ends in, of the month
    before and of the same month a year before: collected to each day over the month's
    billed."""
    month = ask.period.end.replace(day=1)
    today = business_date(ask.clock.now())
    series = []
    for label, back in PROGRESS_SERIES.items():
        first = months_back(month, back)
        last = min(month_end(first), today)
        found = await ask.read(("billed", "payments"), first, last)
        billed = sum(r.amount for r in found if r.metric == "billed")
        by_day = summed((r for r in found if r.metric == "paid"), lambda r: r.business_date.day)
        points: list[int | Decimal | None] = []
        collected = 0
        for n in range(1, 32):
            collected += by_day.get(n, NOTHING)[2]
            shown = first + timedelta(days=n - 1) <= last and n <= month_end(first).day
            points.append(rate(collected, billed) if shown else None)
        series.append(Series(label, tuple(points)))
    labels = tuple(str(n) for n in range(1, 32))
    title = PROGRESS.format(month=f"{month:%Y-%m}")
    return Chart("progress", title, "line", "percent", labels,
                 tuple(series))  # fmt: skip


class Aging:
    COLUMNS = (
        Column("bucket", "Days past due", "text"),
        Column("accounts", "Accounts", "count"),
        Column("bills", "Bills", "count"),
        Column("amount", "Arrears", "fen"),
    )

    @staticmethod
    def _table(by: str | None, rows: tuple[tuple[Cell, ...], ...]) -> ReportTable:
        label = (Column("group", by.capitalize(), "text"),) if by else ()
        return ReportTable("aging", "Arrears by days past due", (*label, *Aging.COLUMNS),
                           rows)  # fmt: skip

    @staticmethod
    def empty(by: str | None) -> tuple[ReportTable, ...]:
        return (Aging._table(by, ()),)

    @staticmethod
    async def build(ask: Ask) -> Built:
        found = await ask.read(("aging",), ask.period.end, ask.period.end)
        by = ask.by
        sums = summed(found, lambda r: (ask.places.group(by, r), r.key))
        groups = sorted({g for g, _ in sums})
        lines: list[tuple[Cell, ...]] = []
        for group in groups:
            for bucket in (*AGE_BUCKETS, "all"):
                n, bills, amount, _ = sums.get((group, bucket), NOTHING)
                if bills:
                    lines.append(((group,) if by else ()) + (bucket, n, bills, amount))
        chart = Chart("aging", AGING_AT.format(day=ask.period.end), "bar", "fen",
                      AGE_BUCKETS, tuple(
                          Series(g, tuple(sums.get((g, b), NOTHING)[2] for b in AGE_BUCKETS))
                          for g in groups))  # fmt: skip
        return (Aging._table(by, tuple(lines)),), ((chart,) if lines else ())
