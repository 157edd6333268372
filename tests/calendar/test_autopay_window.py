"""The auto-pay window (channel-api.md §8), on the real mainland China calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.calendar import working as calendar
from utilipay.calendar.windows import (
    CLOSE,
    OPEN,
    deadline,
    is_open,
    local,
    next_open,
    next_round,
    window,
)
from utilipay.clock import SHANGHAI


def sh(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2026-02-14", True),  # a Saturday worked for the Spring Festival (调休)
        ("2026-02-16", False),  # a Monday of the Spring Festival
        ("2026-02-28", True),  # a Saturday worked
        ("2026-10-01", False),  # National Day
        ("2026-10-10", True),  # a Saturday worked for National Day
        ("2026-11-21", False),  # an ordinary Saturday
        ("2026-11-23", True),  # an ordinary Monday
    ],
)
def test_the_calendar_knows_holidays_and_worked_weekends(day: str, working: bool) -> None:
    assert calendar.is_working(date.fromisoformat(day)) is working


def test_a_year_the_package_does_not_know_falls_back_to_weekdays() -> None:
    assert calendar.day_info(date(2027, 1, 4)) == (True, None, "weekdays")
    assert calendar.day_info(date(2027, 1, 9)) == (False, None, "weekdays")
    assert calendar.day_info(date(2027, 1, 1)) == (False, "New Year's Day", "weekdays")


@pytest.mark.parametrize(
    ("issued", "planned", "closes"),
    [
        # an ordinary Monday morning: two hours' notice, three working days
        ("2026-11-23 09:00", "2026-11-23 11:00", "2026-11-25 22:00"),
        # issued at 21:30 on a Friday: notice runs past closing, so Monday 07:00;
        # the window counts Friday, Monday, Tuesday
        ("2026-11-20 21:30", "2026-11-23 07:00", "2026-11-24 22:00"),
        # issued after 22:00: the window starts the next working day
        ("2026-11-23 22:30", "2026-11-24 07:00", "2026-11-26 22:00"),
        # issued on the eve of the Spring Festival: the debit waits for the worked Saturday
        # (the 13th, the worked 14th, then the 24th after the holiday)
        ("2026-02-13 20:00", "2026-02-14 07:00", "2026-02-24 22:00"),
        # issued during National Day: the holiday is skipped, the worked Saturday counts
        ("2026-10-03 10:00", "2026-10-08 07:00", "2026-10-10 22:00"),
    ],
)
def test_worked_examples(issued: str, planned: str, closes: str) -> None:
    found = window(sh(issued), timedelta(hours=2))
    assert (found.planned_at, found.deadline) == (sh(planned), sh(closes))


instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 20), timezones=st.just(UTC)
)
notices = st.integers(min_value=0, max_value=3 * 86400).map(lambda s: timedelta(seconds=s))


@given(instants, notices)
def test_a_planned_debit_is_open_and_inside_its_window(issued: datetime, notice: timedelta) -> None:
    found = window(issued, notice)
    assert is_open(found.planned_at)
    assert found.planned_at < found.deadline
    moment = local(found.planned_at)
    assert calendar.is_working(moment.date()) and OPEN <= moment.time() < CLOSE
    # never later than the third working day
    first = (
        local(issued).date()
        if local(issued).time() < CLOSE
        else local(issued).date() + timedelta(1)
    )
    working_days = [
        first + timedelta(d)
        for d in range((moment.date() - first).days + 1)
        if calendar.is_working(first + timedelta(d))
    ]
    assert 1 <= len(working_days) <= 3


@given(instants)
def test_next_open_is_the_earliest_open_instant(instant: datetime) -> None:
    found = next_open(instant)
    assert found >= instant and is_open(found)
    # nothing open in between (checked minute by minute on a coarse grid would be slow:
    # the only candidates are the instant itself and 07:00 of the days in between)
    if found > instant:
        assert not is_open(instant)
        day = local(instant).date()
        while day < local(found).date():
            assert not calendar.is_working(day) or local(instant).date() == day
            day += timedelta(days=1)


@given(instants)
def test_the_next_round_is_a_later_working_day_at_opening(instant: datetime) -> None:
    found = local(next_round(instant))
    assert found.date() > local(instant).date()
    assert calendar.is_working(found.date()) and found.time() == OPEN


@settings(max_examples=60, deadline=None)
@given(issued=instants, notice=notices)
async def test_sql_and_python_agree(
    engine: AsyncEngine, issued: datetime, notice: timedelta
) -> None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT * FROM autopay_window(:t, :n)"),
                {"t": issued, "n": int(notice.total_seconds())},
            )
        ).one()
    found = window(issued, notice)
    assert (row.planned_at, row.deadline) == (found.planned_at, found.deadline)
    assert deadline(issued) == row.deadline


async def test_sync_extends_the_database_calendar(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        added = await calendar.sync(conn, date(2027, 1, 15))
        assert added > 0
        assert await calendar.sync(conn, date(2027, 1, 15)) == 0  # idempotent
        row = (
            await conn.execute(
                text("SELECT working, source, third_working FROM calendar_days WHERE day = :d"),
                {"d": date(2026, 12, 31)},
            )
        ).one()
    assert tuple(row) == (True, "chinese-calendar", date(2027, 1, 5))  # Thu 31, Mon 4, Tue 5
