"""Checking cumulative register reads against each other and what is stored, and turning
consecutive reads into spans of usage.

Errors: a read before installation, after removal or in the future; a value at or above
the register's range; two values for the same instant (in the file, or against a stored
actual read); a value lower than the read before it that rollover cannot explain (the
register wraps at ``10 ** digits``: a wrap is believed only from the top of the range to
its bottom, and for a plausible usage); a usage too large to be real.
Notices: an identical repeat, an estimated read, an actual read replacing an estimate,
a rollover, a gap (spread and flagged estimated), a usage above the plausible maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise

from utilipay.clock import to_shanghai_iso
from utilipay.readings.fields import MAX_QUANTITY, QUANTUM
from utilipay.readings.plan import Findings, SeriesPlan, Span
from utilipay.readings.schemas import Meter, ReadingRules, ReadRow


@dataclass(frozen=True, slots=True)
class StoredRead:
    read_at: datetime
    value: Decimal
    estimated: bool


@dataclass(frozen=True, slots=True)
class _Point:
    read_at: datetime
    value: Decimal
    estimated: bool
    line: int | None  # the line that brought it; None: stored and untouched
    stored: bool


def _within_life(meter: Meter, row: ReadRow, now: datetime, found: Findings) -> bool:
    if row.read_at < meter.installed_at:
        problem = f"is before meter {meter.meter_id} was installed"
    elif meter.removed_at is not None and row.read_at > meter.removed_at:
        problem = f"is after meter {meter.meter_id} was removed"
    elif row.read_at > now:
        problem = "is in the future"
    elif row.value >= meter.modulus:
        found.error(row.line, f"value {row.value} is beyond the meter's {meter.digits} digits")
        return False
    else:
        return True
    found.error(row.line, f"read at {to_shanghai_iso(row.read_at)} {problem}")
    return False


def _first_of_each_instant(rows: list[ReadRow], found: Findings) -> list[ReadRow]:
    first: dict[datetime, ReadRow] = {}
    for row in rows:
        earlier = first.setdefault(row.read_at, row)
        if earlier is row:
            continue
        if (earlier.value, earlier.estimated) == (row.value, row.estimated):
            found.notice(row.line, "repeat", f"repeats line {earlier.line}; counted once")
        else:
            found.error(row.line, f"another value for the read of line {earlier.line}")
    return list(first.values())


def _merge(
    plan: SeriesPlan[ReadRow], rows: list[ReadRow], stored: list[StoredRead], found: Findings
) -> list[_Point]:
    """Stored and new reads in time order; a new read either adds, replaces a stored
    estimate, repeats what is stored, or contradicts it."""
    points = {s.read_at: _Point(s.read_at, s.value, s.estimated, None, True) for s in stored}
    for row in rows:
        old = points.get(row.read_at)
        new = _Point(row.read_at, row.value, row.estimated, row.line, old is not None)
        if old is None:
            plan.inserts.append(row)
        elif old.estimated and not row.estimated:
            plan.replacements.append(row)
            found.notice(row.line, "replaces-estimate", f"replaces the estimated read {old.value}")
        elif old.value == row.value:
            plan.unchanged += 1
            continue
        else:
            found.error(row.line, f"a read at this time is stored with value {old.value}")
            continue
        points[row.read_at] = new
        if row.estimated:
            found.notice(row.line, "estimated", "estimated read: its usage is flagged estimated")
    return sorted(points.values(), key=lambda p: p.read_at)


def _usage(
    meter: Meter, rules: ReadingRules, a: _Point, b: _Point, line: int, found: Findings
) -> Decimal | None:
    """The usage between two consecutive reads, or None (an error) when the register went
    down and rollover cannot explain it, or the usage cannot be real."""
    went_up = b.value >= a.value
    modulus = meter.modulus
    usage = (b.value - a.value if went_up else modulus - a.value + b.value) * meter.multiplier
    usage = usage.quantize(QUANTUM, ROUND_HALF_EVEN)
    # the plausible maximum is at least a day's: most spans need no more thought
    high = usage > rules.max_daily_usage[meter.service] and usage > rules.max_usage(
        meter.service, b.read_at - a.read_at
    )
    top, bottom = modulus * (1 - rules.rollover_band), modulus * rules.rollover_band
    wrapped = a.value >= top and b.value < bottom
    if not went_up and (high or not wrapped):
        found.error(
            line,
            f"value {b.value} at {to_shanghai_iso(b.read_at)} is lower than {a.value} at "
            f"{to_shanghai_iso(a.read_at)} and rollover cannot explain it",
        )
        return None
    if usage >= MAX_QUANTITY:
        found.error(line, f"usage {usage} {meter.unit} since the read before is not credible")
        return None
    if not went_up:
        found.notice(line, "rollover", f"register rolled over from {a.value} to {b.value}")
    elif high:
        found.notice(line, "high-usage", f"usage {usage} {meter.unit} is implausibly high")
    return usage


def plan_series(
    meter: Meter,
    register: str,
    rows: list[ReadRow],
    stored: list[StoredRead],
    rules: ReadingRules,
    now: datetime,
    found: Findings,
) -> SeriesPlan[ReadRow]:
    """``stored``: the stored reads around the new ones (the one before the earliest, all
    between, the one after the latest), enough to check and re-derive every span a new
    read touches."""
    plan: SeriesPlan[ReadRow] = SeriesPlan(meter, register)
    good = [r for r in rows if _within_life(meter, r, now, found)]
    points = _merge(plan, _first_of_each_instant(good, found), stored, found)
    for a, b in pairwise(points):
        line = b.line if b.line is not None else a.line
        if line is None:
            continue  # neither end changed: the stored span stands
        usage = _usage(meter, rules, a, b, line, found)
        if usage is None:
            continue
        gap = b.read_at - a.read_at > rules.gap_after
        if gap:
            days = (b.read_at - a.read_at).total_seconds() / 86400
            found.notice(line, "gap", f"{days:.1f} days since the previous read: usage spread")
        plan.spans.append(Span(a.read_at, b.read_at, usage, a.estimated or b.estimated or gap))
        if b.stored:
            plan.stale_ends.append(b.read_at)
    return plan
