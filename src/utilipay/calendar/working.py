"""The mainland China working-day calendar, from the ``chinese-calendar`` package.

``chinese-calendar`` carries the State Council's holiday schedule, adjusted
working weekends (调休) included, for the years it knows (2004-2026 in 1.11).
A year it does not know yet is taken as Monday-Friday without the holidays
fixed by date (New Year's Day, Labour Day, the first three days of National
Day) and marked ``weekdays``, until a newer package is installed and ``sync``
is run again; the schedule is announced each November or December for the
next year. Until then the fallback errs on the side of sending too late
rather than on a holiday only for those fixed dates; the lunar holidays and
the adjusted weekends of an unknown year cannot be guessed.

The database copy (``calendar_days``) lets scheduling be set-based: each day
carries the first working day on or after it, and the third.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.calendar.tables import calendar_days

FIRST_DAY = date(2004, 1, 1)
SOURCE = "chinese-calendar"
# Holidays on the same date every year (全国年节及纪念日放假办法).
_FIXED_HOLIDAYS = {
    (1, 1): "New Year's Day",
    (5, 1): "Labour Day",
    (10, 1): "National Day",
    (10, 2): "National Day",
    (10, 3): "National Day",
}
FALLBACK = "weekdays"


@lru_cache(maxsize=4096)
def day_info(day: date) -> tuple[bool, str | None, str]:
    """(working, holiday name, source) of a day."""
    try:
        holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:  # a year the package does not know yet
        fixed = _FIXED_HOLIDAYS.get((day.month, day.day))
        return day.weekday() < 5 and fixed is None, fixed, FALLBACK
    return not holiday, name if holiday else None, SOURCE


def is_working(day: date) -> bool:
    return day_info(day)[0]


def next_working(day: date) -> date:
    """The first working day on or after ``day``."""
    while not is_working(day):
        day += timedelta(days=1)
    return day


def third_working(day: date) -> date:
    """The third working day counting from the first on or after ``day``."""
    found = next_working(day)
    for _ in range(2):
        found = next_working(found + timedelta(days=1))
    return found


_DERIVE = text(
    """
    UPDATE calendar_days c SET
        next_working = (SELECT min(w.day) FROM calendar_days w
                         WHERE w.working AND w.day >= c.day),
        third_working = (SELECT w.day FROM calendar_days w WHERE w.working AND w.day >= c.day
                          ORDER BY w.day OFFSET 2 LIMIT 1)
     WHERE c.day >= :since
    """
)


async def sync(conn: AsyncConnection, through: date) -> int:
    """Make ``calendar_days`` agree with the package up to ``through`` (plus the weeks a
    3-working-day window can reach); returns how many days were added or changed."""
    last = through + timedelta(days=45)
    stored = {
        r.day: (r.working, r.holiday, r.source)
        for r in await conn.execute(text("SELECT day, working, holiday, source FROM calendar_days"))
    }
    changed: list[dict[str, object]] = []
    first_changed: date | None = None
    day = FIRST_DAY
    while day <= last:
        info = day_info(day)
        if stored.get(day) != info:
            changed.append({"day": day, "working": info[0], "holiday": info[1], "source": info[2]})
            first_changed = first_changed or day
        day += timedelta(days=1)
    if first_changed is None:
        return 0
    statement = insert(calendar_days)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["day"],
            set_={c: statement.excluded[c] for c in ("working", "holiday", "source")},
        ),
        changed,
    )
    # a change moves the derived days of the weeks before it too
    since = first_changed - timedelta(days=31)
    await conn.execute(_DERIVE, {"since": since})
    return len(changed)
