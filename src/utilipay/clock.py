"""Time is a dependency: services take a ``Clock`` so tests can travel through calendars.

Instants are timezone-aware UTC; business dates (receipts, statements, cut-offs)
are the Asia/Shanghai calendar date of an instant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to, for tests and replays."""

    def __init__(self, start: datetime) -> None:
        self._now = as_utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = as_utc(instant)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def as_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant.isoformat()} has no timezone")
    return instant.astimezone(UTC)


def business_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an instant."""
    return as_utc(instant).astimezone(SHANGHAI).date()


def to_shanghai_iso(instant: datetime) -> str:
    """RFC 3339 with the +08:00 offset, as channels in mainland China expect."""
    return as_utc(instant).astimezone(SHANGHAI).isoformat(timespec="seconds")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC-comparable start and end of a Shanghai business day (end exclusive)."""
    start = datetime.combine(day, time(0), tzinfo=SHANGHAI)
    return start, start + timedelta(days=1)
