"""The cut-off around midnight: which records a run reads, and when one is carried.

A payment finished at 23:59:58 on day D may sit on the channel's statement of
D+1 (its clock, its cut-off). A run of D therefore also reads the records of
D-1 and D+1 that lie within ``cutoff`` of D's midnights, and matches across
them. A record of D near its end whose partner is on D+1 is CARRIED: the run of
D+1 matches it (and classifies it there); a partner from D-1 was carried here by
the run of D-1, so this run classifies the pair. Every record carries ``day``
(-1, 0 or +1 relative to D; ``OTHER_DAY`` for a payment looked up by its order)
and ``edge`` (+1 within ``cutoff`` of D's end, -1 of its start).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from utilipay.clock import SHANGHAI

DEFAULT_CUTOFF = timedelta(minutes=15)
MAX_CUTOFF = timedelta(hours=2)
OTHER_DAY = 9  # a hub payment found by its order id, finished outside the window


@dataclass(frozen=True, slots=True)
class Window:
    day: date
    cutoff: timedelta = DEFAULT_CUTOFF

    def __post_init__(self) -> None:
        if not timedelta(0) <= self.cutoff <= MAX_CUTOFF:
            raise ValueError(f"cut-off window must be between 0 and {MAX_CUTOFF}")

    @property
    def start(self) -> datetime:
        """D's first instant (00:00 Asia/Shanghai), in UTC."""
        return datetime.combine(self.day, time(), SHANGHAI).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.day + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)

    @property
    def low(self) -> datetime:
        """The earliest instant a run of D reads (the tail of D-1)."""
        return self.start - self.cutoff

    @property
    def high(self) -> datetime:
        """The instant after the last one a run of D reads (the head of D+1)."""
        return self.end + self.cutoff

    def params(self) -> dict[str, object]:
        """Bind parameters of the SQL that reads the window's records in PostgreSQL."""
        return {"day": self.day, **self.instants()}

    def instants(self) -> dict[str, datetime]:
        """The window's bounds; ``start_edge`` and ``end_edge`` end and start the cut-offs
        around D's midnights (a record of D before the one or after the other is near one)."""
        return {
            "low": self.low,
            "high": self.high,
            "start": self.start,
            "end": self.end,
            "start_edge": self.start + self.cutoff,
            "end_edge": self.end - self.cutoff,
        }


def carried_sql(sides: list[tuple[str, str]]) -> str:
    """A record is carried when a side of D lies near D's end, none lies elsewhere in D,
    and a partner lies on D+1. ``sides`` are (day, edge) SQL expressions, never NULL."""
    on_next = " OR ".join(f"{d} = 1" for d, _ in sides)
    in_day_not_near_end = " OR ".join(f"({d} = 0 AND {e} <> 1)" for d, e in sides)
    in_day = " OR ".join(f"{d} = 0" for d, _ in sides)
    return f"(({on_next}) AND ({in_day}) AND NOT ({in_day_not_near_end}))"
