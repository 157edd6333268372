"""Attributing a span's usage to the local (Asia/Shanghai) days it covers."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from utilipay.clock import SHANGHAI
from utilipay.readings.fields import QUANTUM

_MICROSECOND = timedelta(microseconds=1)


def _next_midnight(instant: datetime) -> datetime:
    local_day = instant.astimezone(SHANGHAI).date()
    return datetime.combine(local_day + timedelta(days=1), time(), SHANGHAI)


def spread(start: datetime, end: datetime, quantity: Decimal) -> list[tuple[date, Decimal]]:
    """``quantity`` used over [start, end), per local day, in proportion to time.

    A span that ends at local midnight closes the day before it. Each share is the
    rounded cumulative total minus the rounded total before it, so every share is at
    least zero, the shares add up to ``quantity`` exactly, and the rounding remainder
    lands on the last day.
    """
    if end <= start:
        raise ValueError(f"empty span {start.isoformat()} .. {end.isoformat()}")
    total = (end - start) // _MICROSECOND
    shares: list[tuple[date, Decimal]] = []
    cursor, before = start, Decimal(0)
    while cursor < end:
        stop = min(_next_midnight(cursor), end)
        elapsed = (stop - start) // _MICROSECOND
        upto = (quantity * elapsed / total).quantize(QUANTUM, ROUND_HALF_EVEN)
        shares.append((cursor.astimezone(SHANGHAI).date(), upto - before))
        cursor, before = stop, upto
    return shares
