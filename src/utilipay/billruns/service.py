"""The monthly bill run (抄表核算): a hosted biller's readings of a month become its bills.

One run is one transaction and a handful of set-based statements (``run_sql.py``),
whatever the number of accounts. Each account with daily usage in the period gets
one bill priced by its customer class's tariff:

- per version in force over the month (a price change mid-month splits the usage
  into segments), through the bands of its band period: for an annual tariff the
  usage of earlier bills of the same tariff and year comes first, so December's
  kWh fall in the bands the year has reached;
- the exact charges of the segments are added, rounded to fen once, and the fixed
  monthly charge is added: ``to_fen(exact) + fixed``, as ``tariffs/calculator.py``;
- the bill, its usage and its lines (register, band, fixed) are kept, and a
  ``bill.issued`` event with the payload a bill import gives, so auto-pay and
  notifications take run-made bills as they take imported ones.

An account gets no bill when it is billed for the period already (by an earlier
run or an import, or found owing nothing: a run can be repeated, and finishes what
a run before it left),
when its readings do not cover every day of the period its meters were in service
(awaiting readings: the next run bills it), when no tariff prices it (no
assignment for its class, or a time-of-use tariff and no register readings), when
it was billed for a later month of the same annual band period (out of order: its
usage would land behind that bill's), or when it owes nothing (no usage and no
fixed charge, or usage in a free band: kept, as it counts towards the year's
bands). Prepaid accounts are settled daily instead: their days from the day
their accrual starts are left out, and so is the fixed charge of that month.

A bill is due ``bill_due_days`` (the biller's) after the run's date and carries no
late fee, as a new bill in an import does.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit.service import record
from utilipay.billers import repository as billers_repo
from utilipay.billers import service as billers_service
from utilipay.billruns import sql as run_sql
from utilipay.billruns.tables import billing_runs
from utilipay.clock import SHANGHAI, Clock, business_date
from utilipay.errors import DomainError, ErrorCode

PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
MIN_DUE_DAYS, MAX_DUE_DAYS = 1, 90  # as the column's check (migration 0012)
OUTCOMES = (
    "issued",
    "already_billed",
    "awaiting_readings",
    "unpriced",
    "out_of_order",
    "nothing_due",
)
# The steps a run reports to a progress display, in order.
STEPS = ("tariffs", "usage", "accounts", "bills", "detail", "events")

Step = Callable[[str], None]  # told each step as it starts


@dataclass(frozen=True, slots=True)
class Period:
    text: str  # YYYY-MM
    first: date
    last: date

    @classmethod
    def parse(cls, text: str) -> Period:
        if not PERIOD.fullmatch(text):
            raise DomainError(ErrorCode.MALFORMED_REQUEST, f"period {text!r} must be YYYY-MM")
        year, month = int(text[:4]), int(text[5:])
        return cls(
            text, date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        )

    def bounds(self) -> tuple[datetime, datetime]:
        """The instants the period starts and ends, Shanghai midnight to midnight."""
        start = datetime.combine(self.first, time(), SHANGHAI)
        return start, datetime.combine(self.last + timedelta(days=1), time(), SHANGHAI)


@dataclass(frozen=True, slots=True)
class RunReport:
    run_id: int
    biller: str
    period: str
    as_of: date
    due_date: date
    bills_issued: int
    amount: int  # fen, the bills issued
    estimated: int  # bills issued on usage partly estimated
    already_billed: int
    awaiting_readings: int
    unpriced: int
    out_of_order: int
    nothing_due: int
    prepaid: int  # prepaid accounts, settled daily, not billed

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "biller": self.biller,
            "period": self.period,
            "as_of": self.as_of.isoformat(),
            "due_date": self.due_date.isoformat(),
            "bills_issued": self.bills_issued,
            "amount": self.amount,
            "estimated": self.estimated,
            "already_billed": self.already_billed,
            "awaiting_readings": self.awaiting_readings,
            "unpriced": self.unpriced,
            "out_of_order": self.out_of_order,
            "nothing_due": self.nothing_due,
            "prepaid": self.prepaid,
        }


def _check_ended(period: Period, as_of: date) -> None:
    if as_of <= period.last:
        raise DomainError(
            ErrorCode.NOT_READY,
            f"period {period.text} runs to {period.last}: "
            f"bill it as of {period.last + timedelta(days=1)} or later",
        )


async def run_billing(
    conn: AsyncConnection,
    clock: Clock,
    *,
    biller: str,
    period: str,
    actor: str,
    step: Step | None = None,
) -> RunReport:
    """Bill ``period`` of ``biller`` as of the clock's day (Asia/Shanghai): the bills are
    issued at the clock's instant and due the biller's ``bill_due_days`` after that day.

    Safe to repeat: an account billed for the period is never billed again.
    """
    month = Period.parse(period)
    found = await billers_service.hosted_biller(conn, biller, "the hub bills")
    day = business_date(clock.now())
    _check_ended(month, day)
    await conn.execute(run_sql.LOCK, {"b": found.id})
    terms = await billers_repo.billing_terms(conn, found.id)
    due = day + timedelta(days=terms.bill_due_days)
    now = clock.now()
    run_id = (
        await conn.execute(
            insert(billing_runs)
            .values(biller_id=found.id, period=month.text, as_of=day, due_date=due, ran_at=now,
                    actor=actor)
            .returning(billing_runs.c.id)
        )
    ).scalar_one()  # fmt: skip
    start_at, end_at = month.bounds()
    values = {
        "b": found.id, "p": month.text, "d0": month.first, "d1": month.last,
        "start_at": start_at, "end_at": end_at, "run": run_id, "due": due, "now": now,
        "code": found.code, "currency": terms.currency,
    }  # fmt: skip
    counts = await _run(conn, values, step or (lambda _: None))
    await conn.execute(
        update(billing_runs)
        .where(billing_runs.c.biller_id == found.id, billing_runs.c.id == run_id)
        .values(**counts)
    )
    await record(
        conn, clock, actor=actor, action="billing.run", object_type="biller",
        object_id=found.code,
        details={"period": month.text, "as_of": day.isoformat(), "run_id": run_id, **counts},
    )  # fmt: skip
    return RunReport(run_id, found.code, month.text, day, due, **counts)


async def _run(conn: AsyncConnection, values: dict[str, Any], step: Step) -> dict[str, int]:
    await conn.execute(run_sql.WORK_MEM)
    step("tariffs")
    await conn.execute(run_sql.VERSIONS, values)
    await conn.execute(run_sql.ANALYZE_VERSIONS)
    step("usage")
    await conn.execute(run_sql.SEGMENTS, values)
    await conn.execute(run_sql.ANALYZE_SEGMENTS)
    step("accounts")
    await conn.execute(run_sql.ACCOUNTS, values)
    await conn.execute(run_sql.ANALYZE_ACCOUNTS)
    unread = (await conn.execute(run_sql.UNREAD, values)).scalar_one()
    prepaid = (await conn.execute(run_sql.PREPAID, values)).scalar_one()
    step("bills")
    await conn.execute(run_sql.ISSUED_TABLE)
    await conn.execute(run_sql.BILLS, values)
    await conn.execute(run_sql.NOT_ISSUED)
    step("detail")
    await conn.execute(run_sql.USAGE, values)
    await conn.execute(run_sql.LINES, values)
    step("events")
    await conn.execute(run_sql.EVENTS, values)
    rows = (await conn.execute(run_sql.OUTCOMES)).all()
    await conn.execute(run_sql.DROP)
    by_outcome = {r.outcome: r for r in rows}
    issued = by_outcome.get("issued")
    counts = {name: by_outcome[name].accounts if name in by_outcome else 0 for name in OUTCOMES}
    counts["awaiting_readings"] += unread
    return {
        "bills_issued": counts.pop("issued"),
        "amount": int(issued.amount) if issued else 0,
        "estimated": issued.estimated if issued else 0,
        **counts,
        "prepaid": prepaid,
    }


async def set_due_days(
    conn: AsyncConnection, clock: Clock, *, biller: str, days: int, actor: str
) -> int:
    """How many days after a run its bills are due, from the next run on; the old value."""
    found = await billers_service.hosted_biller(conn, biller, "the hub bills")
    if not MIN_DUE_DAYS <= days <= MAX_DUE_DAYS:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"due days {days} must be {MIN_DUE_DAYS}..{MAX_DUE_DAYS}",
        )
    was = (await billers_repo.billing_terms(conn, found.id, lock=True)).bill_due_days
    if was != days:
        await billers_repo.update_biller(conn, found.id, bill_due_days=days)
        await record(
            conn, clock, actor=actor, action="billing.due_days", object_type="biller",
            object_id=found.code, details={"from": was, "to": days},
        )  # fmt: skip
    return was
