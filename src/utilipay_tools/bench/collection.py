"""``utilipay bench collection``: the collection reports and the overdue pass on a year of a
province-size utility.

A database of its own (``utilipay_bench_collection``, rebuilt each run) gets a year of N
accounts (``collection_data``: not timed, its time and size reported). Then, timed on it:

- the daily aggregates of the year built (``collection.rebuild_days``), once;
- each report (``collection.service.build_report``) of the group, for the last whole month
  and for the year, each three times (the first on a cold cache): the issue's targets are
  5 s for a month and 30 s for a year;
- the monthly collection analysis of the group for that month
  (``collection.analysis.monthly_analysis``: its reports, warnings and largest arrears
  gathered), then its PDF and XLSX rendered;
- the overdue pass (``notify.overdue.send_overdue_notices``) at the data's moment, the
  day after the second cycle's due date, every branch charging residential electricity's
  late fee (1 ‰ a day of the principal, calendar days, capped at the principal), twice:
  with a schedule of 1, 7 and 15 days (about one account in ten has a bill a day
  overdue), then, its notices forgotten, with one of every day of the year, which
  announces every overdue bill once (the issue's "1 M overdue bills" at 1 M accounts).
  Each pass's baseline, in the same run on the same server, inserts as many bare events
  (no join, no schedule, no choice, no fee) into the same table, rolled back; the ratio
  says what the logic costs.

The database is dropped at the end unless ``keep``.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import FrozenClock, business_date
from utilipay.collection.analysis import (
    analysis_pdf,
    analysis_xlsx,
    monthly_analysis,
)
from utilipay.collection.charts import identity
from utilipay.collection.days import rebuild_days
from utilipay.collection.schemas import Period, Scope
from utilipay.collection.service import REPORTS, build_report
from utilipay.config import Settings
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.notify.overdue import send_overdue_notices
from utilipay.runtime.install import upgrade
from utilipay_tools.bench import collection_data
from utilipay_tools.bench.collection_data import Generated, Step
from utilipay_tools.bench.payments import machine

TARGET_SECONDS = {"month": 5.0, "year": 30.0}
REPEATS = 3
OVERDUE_DAYS = [1, 7, 15]
STEPS = collection_data.steps() + 4  # and the four timed phases

EVERY_DAY = list(range(1, 366))  # every overdue bill of the year, each on its own day

_SCHEDULE = """
INSERT INTO reminder_defaults (biller_id, overdue_days, updated_at)
SELECT id, CAST(:days AS integer[]), :now FROM billers WHERE parent_id = :group
ON CONFLICT (biller_id) DO UPDATE SET overdue_days = excluded.overdue_days
"""
_LATE_FEE_RULES = """
INSERT INTO late_fee_rules (biller_id, effective_from, daily_per_mille, grace_days, basis,
                            cap_percent, actor, reason, created_at)
SELECT id, '2000-01-01', 1, 0, 'calendar', 100, 'bench', 'residential electricity', :now
  FROM billers WHERE parent_id = :group
"""
# what the first pass told, forgotten so that the second announces every overdue bill
_FORGET = (
    "DELETE FROM overdue_notices",
    "DELETE FROM outbox_events WHERE event_type = 'bill.overdue'",
)
_BASELINE = """
INSERT INTO outbox_events (biller_id, event_type, aggregate_id, payload, occurred_at)
SELECT :b, 'bench.baseline', 'B' || i,
       jsonb_build_object('biller', 'BENCHGRID_360100', 'account_no', lpad(i::text, 10, '0'),
                          'bill_no', 'B' || i, 'period', '2026-12', 'amount', 12345,
                          'late_fee', 0, 'due_date', '2026-12-25', 'days_overdue', 1,
                          'schedule_day', 1),
       :now
  FROM generate_series(1, :n) i
"""


@dataclass(frozen=True, slots=True)
class ReportTiming:
    name: str
    span: str  # "month" or "year"
    period: Period
    seconds: list[float]  # the first on a cold cache
    notes: tuple[str, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def target(self) -> float:
        return TARGET_SECONDS[self.span]

    @property
    def within_target(self) -> bool:
        return max(self.seconds) < self.target

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "span": self.span,
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "seconds": [round(s, 3) for s in self.seconds],
            "median_seconds": round(self.median, 3),
            "target_seconds": self.target,
            "within_target": self.within_target,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class OverduePass:
    schedule: str
    notices: int
    seconds: float
    baseline_seconds: float  # as many bare event inserts

    @property
    def ratio(self) -> float:
        return self.seconds / self.baseline_seconds

    def as_json(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule,
            "notices": self.notices,
            "seconds": round(self.seconds, 2),
            "baseline_seconds": round(self.baseline_seconds, 2),
            "over_baseline": round(self.ratio, 2),
        }


@dataclass(frozen=True)
class CollectionBench:
    generated: Generated
    aggregate_seconds: float
    reports: list[ReportTiming]
    analysis_seconds: float  # gathered
    rendering_seconds: float  # its PDF and XLSX
    overdue: list[OverduePass]
    kept: bool
    machine: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {
            **self.generated.as_json(),
            "aggregate_seconds": round(self.aggregate_seconds, 1),
            "reports": [r.as_json() for r in self.reports],
            "every_report_within_target": all(r.within_target for r in self.reports),
            "analysis_seconds": round(self.analysis_seconds, 2),
            "analysis_rendering_seconds": round(self.rendering_seconds, 2),
            "overdue_passes": [p.as_json() for p in self.overdue],
            "database_kept": self.kept,
            "machine": self.machine,
        }


def spans(year: int, as_of: date) -> dict[str, Period]:
    """The last whole month before the data's moment, and the year."""
    month_end = as_of.replace(day=1) - timedelta(days=1)
    return {
        "month": Period(month_end.replace(day=1), month_end),
        "year": Period(date(year, 1, 1), date(year, 12, 31)),
    }


async def _seconds(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work()
    return time.perf_counter() - started, result


async def _reports(
    engine: AsyncEngine, clock: FrozenClock, scope: Scope, periods: dict[str, Period]
) -> list[ReportTiming]:
    timings = []
    for name in REPORTS:
        for span, period in periods.items():
            seconds = []
            for _ in range(REPEATS):
                async with engine.connect() as conn:
                    started = time.perf_counter()
                    report = await build_report(conn, clock, name, period, scope)
                    seconds.append(time.perf_counter() - started)
            timings.append(ReportTiming(name.value, span, period, seconds, report.notes))
    return timings


async def _analysis(
    engine: AsyncEngine, clock: FrozenClock, group_id: int, month: date
) -> tuple[float, float]:
    """Seconds to gather the group's analysis of ``month``, and to render it."""
    async with engine.connect() as conn:
        gathered, analysis = await _seconds(lambda: monthly_analysis(conn, clock, group_id, month))
    started = time.perf_counter()
    analysis_pdf(analysis, identity)
    analysis_xlsx(analysis)
    return gathered, time.perf_counter() - started


async def _overdue_pass(
    engine: AsyncEngine, clock: FrozenClock, group_id: int, schedule: str, days: list[int]
) -> OverduePass:
    """One pass with ``days`` as every branch's schedule, and as many bare inserts."""
    async with engine.begin() as conn:
        values = {"days": days, "now": clock.now(), "group": group_id}
        await conn.execute(text(_SCHEDULE), values)
    took, sent = await _seconds(lambda: send_overdue_notices(engine, clock))
    async with engine.connect() as conn:
        transaction = await conn.begin()
        values = {"b": group_id, "n": sent, "now": clock.now()}
        baseline, _ = await _seconds(lambda: conn.execute(text(_BASELINE), values))
        await transaction.rollback()
    return OverduePass(schedule, int(sent), took, baseline)


async def _overdue(engine: AsyncEngine, clock: FrozenClock, group_id: int) -> list[OverduePass]:
    """The pass with the 1/7/15-day schedule, then for every overdue bill."""
    async with engine.begin() as conn:
        await conn.execute(text(_LATE_FEE_RULES), {"now": clock.now(), "group": group_id})
    passes = [await _overdue_pass(engine, clock, group_id, "1,7,15", OVERDUE_DAYS)]
    async with engine.begin() as conn:
        for statement in _FORGET:
            await conn.execute(text(statement))
    passes.append(await _overdue_pass(engine, clock, group_id, "every day", EVERY_DAY))
    return passes


async def _run(
    settings: Settings, accounts: int, year: int, keep: bool, step: Step
) -> CollectionBench:
    url = database_url(settings, database=collection_data.DATABASE)
    await drop_database(url)
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url, pool_size=2)
    try:
        generated = await collection_data.generate(engine, accounts, year, step)
        clock = FrozenClock(generated.as_of)
        today = business_date(generated.as_of)
        step("aggregating the year's days")
        aggregated, _ = await _seconds(
            lambda: rebuild_days(engine, clock, date(year, 1, 1), today - timedelta(days=1))
        )
        step("timing the reports")
        scope = Scope(biller_id=generated.directory.group_id, billers=None)
        periods = spans(year, today)
        reports = await _reports(engine, clock, scope, periods)
        step("timing the monthly analysis")
        group_id = generated.directory.group_id
        analysed, rendered = await _analysis(engine, clock, group_id, periods["month"].start)
        step("timing the overdue pass")
        overdue = await _overdue(engine, clock, group_id)
        async with engine.connect() as conn:
            version = (await conn.execute(text("SHOW server_version"))).scalar_one()
    finally:  # a failed run's gigabytes go too, unless asked to keep them
        await engine.dispose()
        if not keep:
            await drop_database(url)
    return CollectionBench(
        generated=generated,
        aggregate_seconds=aggregated,
        reports=reports,
        analysis_seconds=analysed,
        rendering_seconds=rendered,
        overdue=overdue,
        kept=keep,
        machine={**machine(), "postgresql": str(version)},
    )


def run(
    settings: Settings, accounts: int, year: int, keep: bool, step: Step = print
) -> CollectionBench:
    return asyncio.run(_run(settings, accounts, year, keep, step))
