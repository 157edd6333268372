"""Attributing a span's usage to the local (Asia/Shanghai) days it covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from utilipay.clock import SHANGHAI
from utilipay.readings.fields import QUANTUM

_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class DayShare:
    day: date
    quantity: Decimal
    covered: timedelta  # how much of the day the span covers: a day is known when it all is


def _next_midnight(instant: datetime) -> datetime:
    local_day = instant.astimezone(SHANGHAI).date()
    return datetime.combine(local_day + timedelta(days=1), time(), SHANGHAI)


def spread(start: datetime, end: datetime, quantity: Decimal) -> list[DayShare]:
    """``quantity`` used over [start, end), per local day, in proportion to time.

    A span that ends at local midnight closes the day before it. Each share is the
    rounded cumulative total minus the rounded total before it, so every share is at
    least zero and the shares add up to ``quantity``.
    """
    if end <= start:
        raise ValueError(f"empty span {start.isoformat()} .. {end.isoformat()}")
    total = (end - start) // _MICROSECOND
    shares: list[DayShare] = []
    cursor, before = start, Decimal(0)
    while cursor < end:
        stop = min(_next_midnight(cursor), end)
        elapsed = (stop - start) // _MICROSECOND
        # the last share takes what is left: the shares add up exactly, however long the span
        upto = (
            quantity
            if stop == end
            else (quantity * elapsed / total).quantize(QUANTUM, ROUND_HALF_EVEN)
        )
        shares.append(DayShare(cursor.astimezone(SHANGHAI).date(), upto - before, stop - cursor))
        cursor, before = stop, upto
    return shares
