"""What every report is built from: the question (``Ask``: whose figures, which days, by
what), the daily rows summed by a label, and rates rounded once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock
from utilipay.collection import days
from utilipay.collection.directory import Directory
from utilipay.collection.figures import DayRow
from utilipay.collection.schemas import Chart, Period, ReportTable

K = TypeVar("K")
_CENT = Decimal("0.01")
_DAY_SECONDS = 86400
NOTHING = (0, 0, 0, 0)


def rate(part: int, whole: int) -> Decimal | None:
    """``part`` as a percentage of ``whole``, rounded once to two places; None of nothing."""
    if whole == 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(_CENT, ROUND_HALF_UP)


def mean_days(seconds: int, count: int) -> Decimal | None:
    """A mean duration in days, rounded once to two places; None of nothing."""
    if count == 0:
        return None
    return (Decimal(seconds) / count / _DAY_SECONDS).quantize(_CENT, ROUND_HALF_UP)


def summed(
    rows: Iterable[DayRow], key: Callable[[DayRow], K]
) -> dict[K, tuple[int, int, int, int]]:
    """n, bills, amount and seconds summed per label, for the rows ``key`` labels."""
    sums: dict[K, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        totals = sums[key(row)]
        for i, value in enumerate((row.n, row.bills, row.amount, row.seconds)):
            totals[i] += value
    return {label: (t[0], t[1], t[2], t[3]) for label, t in sums.items()}


Built = tuple[tuple[ReportTable, ...], tuple[Chart, ...]]


@dataclass(frozen=True, slots=True)
class Ask:
    """A report asked for: the utilities covered, the (clipped) period, the breakdown."""

    conn: AsyncConnection
    clock: Clock
    places: Directory
    billers: frozenset[int]
    period: Period
    by: str | None

    async def read(
        self, parts: tuple[str, ...], first: date | None = None, last: date | None = None
    ) -> list[DayRow]:
        """The daily rows of ``parts`` for the period (or ``first`` to ``last``)."""
        return await days.read(self.conn, self.clock, self.billers, first or self.period.start,
                               last or self.period.end, parts)  # fmt: skip
