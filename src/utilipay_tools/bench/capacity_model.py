"""The capacity model for 60 M payments a day: measured costs of one payment, named
assumptions, and the arithmetic from them to cores, WAL and disk (pure: no server).

What a day at 60 M cannot be run on a 2-core machine; what one payment costs can. The
model scales the measured per-payment costs linearly, which holds for the appended tables
and the WAL (a payment's rows do not depend on how many came before) and for CPU at the
batch sizes the measurement saw (the hub groups concurrent payments into one database
call, so CPU per payment at a lower rate is somewhat higher than measured at saturation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DAY = 86_400
DAYS_A_YEAR = 365
MONTHS_A_YEAR = 12
# Rows the hub deletes itself after a while: their table holds a window, not a history.
# channel_nonces: a nonce is kept as long as a signed request's timestamp is accepted
# (channels.auth.NONCE_TTL_SECONDS) and purged by the hub's housekeeping.
KEPT_FOR_SECONDS = {"channel_nonces": 600}
# Queues the code keeps as histories today that the design empties after queue_days: an
# outbox event is kept for the consumers; once dispatched, the payment and the journal
# hold what it said.
QUEUES = ("outbox_events",)
# Rows kept per payment from which a table is a history: payments, postings (2), …;
# the folded counts keep one row per key, a few per thousand payments.
HISTORY = 0.5


@dataclass(frozen=True)
class TableGrowth:
    table: str
    inserted: int
    updated: int
    deleted: int
    heap_bytes: int  # main fork + TOAST
    index_bytes: int


@dataclass(frozen=True)
class Measured:
    requested: int
    failed: int  # requests refused or lost
    payments: int  # rows inserted into payments
    seconds: float
    db_cpu_seconds: float
    app_cpu_seconds: float
    wal_bytes: int
    wal_fpi_bytes: int  # of wal_bytes, full-page images (from pg_waldump)
    wal_records: int
    commits: int
    tables: tuple[TableGrowth, ...]
    books_balanced: bool
    # the baseline, on the same server in the same run: pgbench's TPC-B-like transaction
    pgbench_transactions: int
    pgbench_db_cpu_seconds: float
    pgbench_wal_bytes: int
    wal_by_kind: dict[str, int] = field(default_factory=dict)  # pg_waldump's resource managers
    index_bytes: dict[str, int] = field(default_factory=dict)  # growth of each index
    machine: dict[str, str] = field(default_factory=dict)

    @property
    def faults(self) -> list[str]:
        """Why these are not the costs of payments made, if they are not."""
        found = []
        if self.failed:
            found.append(f"{self.failed} requests refused or lost")
        if self.payments != self.requested:
            found.append(f"{self.payments} payments stored of {self.requested} sent")
        if not self.books_balanced:
            found.append("the books do not balance")
        return found


@dataclass(frozen=True)
class Assumptions:
    payments_per_day: int = 60_000_000
    peak_per_second: float = 1_000  # the issue's peak
    # A bill-payment day is not flat: payments follow waking hours, the evening and the
    # days after bills are issued. 3 is the design peak's ratio to the day's mean second.
    peak_to_average: float = 3.0
    # CPU kept free at the peak: for vacuum, checkpoints, the console's and recon's
    # queries (the database), for GC pauses and a lost node's share (the hub).
    db_utilisation: float = 0.6
    app_utilisation: float = 0.7
    # Months kept in the hot partitions, the current one included: the month being
    # settled, the one before (monthly statements, collection reports compare a month
    # with the one before, month-end settlement), one more for late refunds and open
    # reconciliation exceptions. Older months are detached, not deleted (audit retention).
    hot_months: int = 3
    wal_archive_days: int = 7  # WAL kept for point-in-time recovery between weekly base backups
    queue_days: int = 7  # the design's: dispatched outbox events dropped after a week


@dataclass(frozen=True)
class TableYear:
    table: str
    rows_per_payment: float
    bytes_per_payment: float  # heap + TOAST + indexes
    kept: str  # "history", "window" (purged after a while) or "updated or folded"
    year_bytes: float  # on disk after a year, kept as the code keeps it today
    hot_bytes: float  # with the design: hot_months monthly partitions, queues for queue_days


@dataclass(frozen=True)
class Sizing:
    average_per_second: float
    issue_peak_to_average: float
    design_peak_per_second: float
    db_cpu_ms: float
    app_cpu_ms: float
    db_cpu_in_pgbench_transactions: float  # a payment's PostgreSQL CPU ÷ a TPC-B's
    wal_in_pgbench_transactions: float
    db_cores: dict[str, float]  # at the average, the issue's peak, the design peak
    app_cores: dict[str, float]
    wal_bytes_per_payment: float
    wal_record_bytes_per_payment: float  # without full-page images
    wal_per_day: float
    wal_per_day_without_full_pages: float
    wal_peak_bytes_per_second: float
    wal_archive_bytes: float
    commits_per_second_at_design_peak: float
    tables: list[TableYear]
    year_bytes: float
    hot_bytes: float


def design_peak(a: Assumptions) -> float:
    """The rate to size for: the issue's peak, or the profile's if a day at the stated
    peak-to-average reaches higher."""
    return max(a.peak_per_second, a.payments_per_day / DAY * a.peak_to_average)


def _table_year(growth: TableGrowth, payments: int, a: Assumptions) -> TableYear:
    per_payment = (growth.heap_bytes + growth.index_bytes) / payments
    window = KEPT_FOR_SECONDS.get(growth.table)
    if window is not None:  # holds the busiest window's rows: the design peak for that long
        held = per_payment * design_peak(a) * window
        return TableYear(
            growth.table, growth.inserted / payments, per_payment, "window", held, held
        )
    kept = (growth.inserted - growth.deleted) / payments
    if kept < HISTORY:  # updated, or folded: its size follows its keys, not the payments
        return TableYear(growth.table, kept, per_payment, "updated or folded", 0.0, 0.0)
    year = per_payment * a.payments_per_day * DAYS_A_YEAR
    if growth.table in QUEUES:
        hot = per_payment * a.payments_per_day * min(a.queue_days, DAYS_A_YEAR)
    else:
        hot = year * min(a.hot_months, MONTHS_A_YEAR) / MONTHS_A_YEAR
    return TableYear(growth.table, kept, per_payment, "history", year, hot)


def model(m: Measured, a: Assumptions) -> Sizing:
    """From one payment's measured costs to what ``a``'s day needs."""
    n = m.payments
    average = a.payments_per_day / DAY
    peak = design_peak(a)
    rates = {"average": average, "issue_peak": a.peak_per_second, "design_peak": peak}
    db_cpu, app_cpu = m.db_cpu_seconds / n, m.app_cpu_seconds / n
    wal, records = m.wal_bytes / n, (m.wal_bytes - m.wal_fpi_bytes) / n
    tables = [_table_year(t, n, a) for t in m.tables]
    return Sizing(
        average_per_second=average,
        issue_peak_to_average=a.peak_per_second / average,
        design_peak_per_second=peak,
        db_cpu_ms=db_cpu * 1000,
        app_cpu_ms=app_cpu * 1000,
        db_cpu_in_pgbench_transactions=db_cpu / (m.pgbench_db_cpu_seconds / m.pgbench_transactions),
        wal_in_pgbench_transactions=wal / (m.pgbench_wal_bytes / m.pgbench_transactions),
        db_cores={k: r * db_cpu / a.db_utilisation for k, r in rates.items()},
        app_cores={k: r * app_cpu / a.app_utilisation for k, r in rates.items()},
        wal_bytes_per_payment=wal,
        wal_record_bytes_per_payment=records,
        wal_per_day=wal * a.payments_per_day,
        wal_per_day_without_full_pages=records * a.payments_per_day,
        wal_peak_bytes_per_second=wal * peak,
        wal_archive_bytes=wal * a.payments_per_day * a.wal_archive_days,
        commits_per_second_at_design_peak=m.commits / n * peak,
        tables=sorted(tables, key=lambda t: -t.year_bytes),
        year_bytes=sum(t.year_bytes for t in tables),
        hot_bytes=sum(t.hot_bytes for t in tables),
    )


def as_json(m: Measured, a: Assumptions, s: Sizing) -> dict[str, Any]:
    measured = asdict(m)
    measured["valid"], measured["faults"] = not m.faults, m.faults
    measured["payments_per_second"] = round(m.payments / m.seconds, 1)
    return {"measured": measured, "assumptions": asdict(a), "model": asdict(s)}
