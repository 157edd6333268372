"""When an auto-pay debit may be sent (channel-api.md §8): the reference rules.

- Only on a working day of the mainland China calendar, between 07:00 and 22:00
  Asia/Shanghai ("open").
- Within 3 working days after the bill is issued: the first working day is the
  issue day if it is a working day and the bill came before 22:00, otherwise
  the next working day; the window closes at 22:00 on the third.
- Not before a notice period after issue (the pre-debit notice comes first),
  unless waiting for it would miss the window.

The same rules run in SQL for set-based scheduling (``sql/windows.sql``,
``autopay_window``); the tests hold the two to the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from utilipay.calendar.working import is_working, next_working, third_working
from utilipay.clock import SHANGHAI, as_utc

OPEN = time(7)
CLOSE = time(22)


def local(instant: datetime) -> datetime:
    return as_utc(instant).astimezone(SHANGHAI)


def at(day: date, clock_time: time) -> datetime:
    """``clock_time`` in Shanghai on ``day``, as UTC."""
    return as_utc(datetime.combine(day, clock_time, tzinfo=SHANGHAI))


def is_open(instant: datetime) -> bool:
    moment = local(instant)
    return is_working(moment.date()) and OPEN <= moment.time() < CLOSE


def next_open(instant: datetime) -> datetime:
    """The earliest open instant at or after ``instant``."""
    moment = local(instant)
    if is_working(moment.date()) and moment.time() < CLOSE:
        return max(as_utc(instant), at(moment.date(), OPEN))
    return at(next_working(moment.date() + timedelta(days=1)), OPEN)


def deadline(issued_at: datetime) -> datetime:
    """22:00 on the third working day of the bill's window."""
    moment = local(issued_at)
    first_day = moment.date() if moment.time() < CLOSE else moment.date() + timedelta(days=1)
    return at(third_working(first_day), CLOSE)


@dataclass(frozen=True, slots=True)
class Window:
    planned_at: datetime  # when the debit is first sent
    deadline: datetime  # the debit is never sent at or after this


def window(issued_at: datetime, notice: timedelta) -> Window:
    closes = deadline(issued_at)
    planned = next_open(issued_at + notice)
    if planned >= closes:  # a notice that would miss the window is cut short
        planned = next_open(issued_at)
    return Window(planned, closes)


def next_round(now: datetime) -> datetime:
    """After every funding source declined today: the next working day's opening."""
    return at(next_working(local(now).date() + timedelta(days=1)), OPEN)


# A prepaid top-up cannot wait for a working day: a balance runs out at weekends and on
# holidays too. It is sent between 07:00 and 22:00 on any day, for up to three days.
TOPUP_DAYS = 3


def topup_is_open(instant: datetime) -> bool:
    return OPEN <= local(instant).time() < CLOSE


def topup_next_open(instant: datetime) -> datetime:
    moment = local(instant)
    if moment.time() < OPEN:
        return at(moment.date(), OPEN)
    if moment.time() < CLOSE:
        return as_utc(instant)
    return at(moment.date() + timedelta(days=1), OPEN)


def topup_window(now: datetime) -> Window:
    return Window(topup_next_open(now), at(local(now).date() + timedelta(days=TOPUP_DAYS), CLOSE))


def topup_next_round(now: datetime) -> datetime:
    """After every funding source declined: tomorrow's opening."""
    return at(local(now).date() + timedelta(days=1), OPEN)
