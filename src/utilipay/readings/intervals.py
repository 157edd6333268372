"""Checking interval data (consumption per interval, e.g. Green Button) against itself and
what is stored.

Errors: an interval before installation, after removal or not yet ended; two values for
the same interval (in the file, or against a stored actual one); intervals that overlap.
Notices: an identical repeat, an estimated interval, an actual one replacing an estimate,
missing intervals (nothing is invented for them: those days just have less usage).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from utilipay.clock import to_shanghai_iso
from utilipay.readings.plan import Findings, SeriesPlan, Span
from utilipay.readings.schemas import SINGLE, IntervalRow, Meter

REGISTER = SINGLE[0]  # interval data measures the whole supply


@dataclass(frozen=True, slots=True)
class StoredInterval:
    start: datetime
    end: datetime
    quantity: Decimal
    estimated: bool


def _when(start: datetime, end: datetime) -> str:
    return f"{to_shanghai_iso(start)} .. {to_shanghai_iso(end)}"


def _within_life(meter: Meter, row: IntervalRow, now: datetime, found: Findings) -> bool:
    if row.start < meter.installed_at:
        found.error(row.line, f"interval starts before meter {meter.meter_id} was installed")
    elif meter.removed_at is not None and row.end > meter.removed_at:
        found.error(row.line, f"interval ends after meter {meter.meter_id} was removed")
    elif row.end > now:
        found.error(row.line, f"interval {_when(row.start, row.end)} has not ended yet")
    else:
        return True
    return False


def _first_of_each_interval(rows: list[IntervalRow], found: Findings) -> list[IntervalRow]:
    first: dict[tuple[datetime, datetime], IntervalRow] = {}
    for row in rows:
        earlier = first.setdefault((row.start, row.end), row)
        if earlier is row:
            continue
        if (earlier.quantity, earlier.estimated) == (row.quantity, row.estimated):
            found.notice(row.line, "repeat", f"repeats line {earlier.line}; counted once")
        else:
            found.error(row.line, f"another value for the interval of line {earlier.line}")
    return list(first.values())


def _against_stored(
    plan: SeriesPlan[IntervalRow],
    rows: list[IntervalRow],
    stored: dict[datetime, StoredInterval],
    found: Findings,
) -> None:
    for row in rows:
        old = stored.get(row.end)
        if old is None or old.start != row.start:
            plan.inserts.append(row)  # an overlap with a stored interval is found later
        elif old.estimated and not row.estimated:
            plan.replacements.append(row)
            plan.stale_ends.append(row.end)
            found.notice(row.line, "replaces-estimate", f"replaces the estimate {old.quantity}")
        elif old.quantity == row.quantity:
            plan.unchanged += 1
            continue
        else:
            found.error(row.line, f"this interval is stored with quantity {old.quantity}")
            continue
        if row.estimated:
            found.notice(row.line, "estimated", "estimated interval: flagged estimated")
        plan.spans.append(Span(row.start, row.end, row.quantity, row.estimated))


@dataclass(frozen=True, slots=True)
class _Item:
    start: datetime
    end: datetime
    line: int | None  # None: stored


def _check_neighbours(reach: _Item, item: _Item, found: Findings) -> None:
    """``reach``: of the intervals before ``item``, the one that ends last."""
    line = item.line if item.line is not None else reach.line
    if line is None:
        return  # both stored: checked when they came
    if item.start < reach.end:
        other = reach if item.line is not None else item
        what = f"line {other.line}" if other.line is not None else "a stored interval"
        found.error(line, f"{_when(item.start, item.end)} overlaps {what}")
    elif item.start > reach.end:
        found.notice(line, "missing", f"no data for {_when(reach.end, item.start)}")


def _overlaps_and_gaps(
    plan: SeriesPlan[IntervalRow], stored: list[StoredInterval], found: Findings
) -> None:
    replaced = {r.end for r in plan.replacements}
    timeline = sorted(
        [_Item(s.start, s.end, None) for s in stored if s.end not in replaced]
        + [_Item(r.start, r.end, r.line) for r in plan.inserts + plan.replacements],
        key=lambda item: (item.start, item.end),
    )
    reach = None
    for item in timeline:
        if reach is not None:
            _check_neighbours(reach, item, found)
        if reach is None or item.end > reach.end:
            reach = item


def plan_intervals(
    meter: Meter,
    rows: list[IntervalRow],
    stored: list[StoredInterval],
    now: datetime,
    found: Findings,
) -> SeriesPlan[IntervalRow]:
    """``stored``: the meter's stored intervals around the new ones (the one before the
    earliest, all those overlapping them, the one after the latest)."""
    plan: SeriesPlan[IntervalRow] = SeriesPlan(meter, REGISTER)
    good = [r for r in rows if _within_life(meter, r, now, found)]
    _against_stored(plan, _first_of_each_interval(good, found), {s.end: s for s in stored}, found)
    _overlaps_and_gaps(plan, stored, found)
    return plan
