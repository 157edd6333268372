"""A prepaid account's daily use over the last days, laid out as bars of an inline SVG the
server draws (the pages' policy forbids scripts and inline styles, so the geometry is
attributes and the colours are classes of ``smart.css``). A day without a settled reading
has no bar: a gap, never a zero."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from utilipay.prepaid.queries import Day

SPAN = 30  # days shown
SLOT = 10  # the width of a day, in the chart's units
BAR = 7
TOP = 8  # room above the tallest bar
PLOT = 112  # the tallest bar's height
BASELINE = TOP + PLOT
WIDTH = SPAN * SLOT
HEIGHT = BASELINE + 16  # room for the first and last dates under the bars


@dataclass(frozen=True, slots=True)
class Layout:
    """The chart's frame, for the template that draws it."""

    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = BASELINE
    bar: int = BAR


@dataclass(frozen=True, slots=True)
class Slot:
    """One day of the chart: its bar's geometry, or none for a day without a reading."""

    day: date
    x: int
    settled: Day | None
    y: Decimal = Decimal(BASELINE)
    height: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class UsageChart:
    slots: list[Slot]  # oldest first, one per day of the span
    total: Decimal
    peak: Slot | None  # the day of most use
    layout: Layout = Layout()

    @property
    def bars(self) -> list[Slot]:
        return [s for s in self.slots if s.settled is not None]

    @property
    def gaps(self) -> int:
        return len(self.slots) - len(self.bars)


def usage_chart(days: list[Day], last: date, span: int = SPAN) -> UsageChart:
    """The ``span`` days through ``last`` (yesterday, the last a reading can settle)."""
    first = last - timedelta(days=span - 1)
    by_day = {d.day: d for d in days if first <= d.day <= last}
    tallest = max((d.usage for d in by_day.values()), default=Decimal(0))
    slots = [_slot(first + timedelta(days=n), n, by_day, tallest) for n in range(span)]
    bars = [s for s in slots if s.settled is not None]
    peak = max(bars, key=lambda s: s.height, default=None)
    return UsageChart(slots, sum((d.usage for d in by_day.values()), Decimal(0)), peak)


def _slot(day: date, n: int, by_day: dict[date, Day], tallest: Decimal) -> Slot:
    x = n * SLOT + (SLOT - BAR) // 2
    settled = by_day.get(day)
    if settled is None:
        return Slot(day, x, None)
    # a day of some use stays visible beside the tallest one: at least one unit high
    height = (PLOT * settled.usage / tallest).quantize(Decimal("0.1")) if tallest else Decimal(0)
    height = max(height, Decimal(1)) if settled.usage > 0 else Decimal(0)
    return Slot(day, x, settled, Decimal(BASELINE) - height, height)
