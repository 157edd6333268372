"""Sums of daily rows by a label, and the rounding of rates, shared by the reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from utilipay.collection.figures import DayRow

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
