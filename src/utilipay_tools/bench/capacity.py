"""``utilipay bench capacity``: what one payment costs, measured, for the 60 M a day model.

The method is ``bench payments``' (its database, seed, pre-signed requests and warmed-up
hub); then exactly ``payments`` signed payments, each sent once by the Python load
generator (wrk would idle to the end of a fixed duration, and that idle time would be
counted against the payments). Around them, from the same PostgreSQL and the same hub:

- CPU: PostgreSQL's every process (the postmaster, its live children, and through the
  postmaster's reaped-children times the backends that exited), the hub's uvicorn tree;
- WAL: ``pg_current_wal_lsn`` before and after, ``pg_stat_wal``'s records and full-page
  images, and ``pg_waldump --stats`` for how many of the bytes are full-page images;
- per table: rows inserted, updated and deleted (``pg_stat_user_tables``, read after the
  hub's backends have exited, so their counters are flushed), heap + TOAST and index bytes
  (file sizes grow as rows land: no VACUUM is needed to see them, and the free-space and
  visibility maps it would add are not rows).

The timed phase starts at a ``CHECKPOINT`` so every run starts from the same state; the
full-page images that follow it are reported apart (see ``capacity_model``).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
from sqlalchemy.engine import URL

from utilipay.config import Settings
from utilipay.db.embedded import embedded_bin
from utilipay.db.engine import database_url, drop_database, libpq_url
from utilipay.payments import minutes
from utilipay.runtime.install import upgrade
from utilipay_tools.bench import payments as base
from utilipay_tools.bench import world
from utilipay_tools.bench.capacity_model import Measured, TableGrowth

CONFIG = base.BenchConfig(
    seconds=10, warmup_seconds=2, max_rate=2500, connections=64, workers=2, pgbench_clients=16
)

_TABLES = """
SELECT s.relname, s.n_tup_ins, s.n_tup_upd, s.n_tup_del,
       pg_relation_size(c.oid) + coalesce(pg_relation_size(nullif(c.reltoastrelid, 0)), 0),
       pg_indexes_size(c.oid)
  FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
"""
_INDEXES = "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes"
_WAL = """
SELECT pg_current_wal_lsn()::text, w.wal_records, w.wal_fpi, d.xact_commit,
       (SELECT count(*) FROM payments)
  FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = current_database()
"""
_LSN = "SELECT pg_current_wal_lsn()::text"
_OTHER_BACKENDS = """
SELECT count(*) FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


@dataclass(frozen=True)
class _Snapshot:
    lsn: str
    wal_records: int
    wal_fpi: int
    commits: int
    payments: int
    tables: dict[str, list[int]]  # inserted, updated, deleted, heap bytes, index bytes
    indexes: dict[str, int]  # bytes


def _snapshot(conninfo: str) -> _Snapshot:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = _row(conn.execute(_WAL).fetchone())
        tables = {r[0]: [int(v) for v in r[1:]] for r in conn.execute(_TABLES)}
        indexes = {str(r[0]): int(r[1]) for r in conn.execute(_INDEXES)}
    records, fpi, commits, payments = (int(v) for v in row[1:])
    return _Snapshot(str(row[0]), records, fpi, commits, payments, tables, indexes)


def _tree_cpu(root: psutil.Process, *, reaped: bool) -> float:
    """CPU seconds of ``root`` and its live descendants, and with ``reaped`` those of the
    children it has waited for (a PostgreSQL backend's, once it exits)."""
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:  # exited since listed: counted when reaped
            continue
        total += times.user + times.system
        if reaped and process is root:
            total += times.children_user + times.children_system
    return total


def _row(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
    if row is None:  # each query here answers one row
        raise RuntimeError("PostgreSQL answered no row")
    return row


def _one(conninfo: str, query: str) -> Any:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return _row(conn.execute(query).fetchone())[0]


def _checkpoint(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


# What the worker does for each payment, run once over the run's rows inside the measured
# window: fold the dashboard's and the anomaly monitor's counts (each second, in production)
# and mark the outbox's events handed on (its consumers' own work, webhooks, is not here).
_WORKER_PASSES = (
    "SELECT payment_rollups_fold()",
    "SELECT payment_minutes_fold(now() - %(minutes_kept)s)",
    "UPDATE outbox_events SET dispatched_at = now() WHERE dispatched_at IS NULL",
)


def _worker_passes(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in _WORKER_PASSES:
            conn.execute(statement, {"minutes_kept": minutes.RETENTION})
        conn.execute("SELECT pg_stat_force_next_flush()")  # counted before the next snapshot


def _postmaster(conninfo: str) -> psutil.Process:
    with psycopg.connect(conninfo, autocommit=True) as conn:  # open: its backend is alive
        backend = _row(conn.execute("SELECT pg_backend_pid()").fetchone())[0]
        parent = psutil.Process(int(backend)).parent()
    if parent is None:
        raise RuntimeError("PostgreSQL's postmaster is not visible: bench capacity needs it local")
    return parent


def _uvicorn() -> psutil.Process:
    for child in psutil.Process().children():
        if "uvicorn" in " ".join(child.cmdline()):
            return child
    raise RuntimeError("the hub's uvicorn process is not a child of this one")


def _wait_for_backends_to_exit(conninfo: str) -> None:
    """Until the hub's sessions are gone: their counters reach ``pg_stat_*`` when they exit."""
    deadline = time.monotonic() + 30
    while _one(conninfo, _OTHER_BACKENDS):
        if time.monotonic() > deadline:
            raise RuntimeError("the hub's database sessions did not end")
        time.sleep(0.1)


_KIND = re.compile(
    r"^(\S+)\s+\d+\s+\([\s\d.]+\)\s+\d+\s+\([\s\d.]+\)\s+\d+\s+\([\s\d.]+\)\s+(\d+)\s",
    re.MULTILINE,
)


def parse_waldump(stats: str) -> tuple[int, dict[str, int]]:
    """From ``pg_waldump --stats``: the full-page images' bytes (the Total line's FPI
    column), and the bytes of each resource manager that wrote any (Heap, Btree, …)."""
    found = re.search(r"^Total\s+\d+\s+\d+\s+\[[^]]*\]\s+(\d+)", stats, re.MULTILINE)
    if not found:
        raise RuntimeError(f"pg_waldump printed no total:\n{stats}")
    kinds = {name: int(size) for name, size in _KIND.findall(stats) if int(size)}
    return int(found.group(1)), kinds


def _wal_stats(conninfo: str, start: str, end: str) -> tuple[int, dict[str, int]]:
    """Full-page image bytes and bytes by kind between two WAL positions."""
    wal_dir = Path(str(_one(conninfo, "SHOW data_directory")), "pg_wal")
    command = [
        str(embedded_bin("pg_waldump")), "--stats", "-p", str(wal_dir), "-s", start, "-e", end,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse_waldump(out)


def _send(port: int, directory: Path) -> int:
    """Every signed request in ``directory`` sent once; returns, when all are answered, how
    many were refused or lost."""
    command = [
        sys.executable, "-m", "utilipay_tools.bench.loadgen", f"http://127.0.0.1:{port}",
        str(directory), world.CHANNEL, str(CONFIG.connections), "3600",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    return int(summary["status_errors"]) + int(summary["socket_errors"])


def _growth(before: _Snapshot, written: _Snapshot, after: _Snapshot) -> tuple[TableGrowth, ...]:
    """Each table's rows changed by the payments and the worker's passes, and its bytes as
    the payments wrote them (the passes' dead row versions are vacuum's to reuse)."""
    grown = []
    for name, now in sorted(after.tables.items()):
        was = before.tables.get(name, [0] * len(now))
        ins, upd, deleted = (a - b for a, b in zip(now[:3], was[:3], strict=True))
        heap, index = (a - b for a, b in zip(written.tables[name][3:], was[3:], strict=True))
        if ins or upd or deleted or heap or index:
            grown.append(TableGrowth(name, ins, upd, deleted, heap, index))
    return tuple(grown)


def _index_growth(before: _Snapshot, written: _Snapshot) -> dict[str, int]:
    grown = {name: size - before.indexes.get(name, 0) for name, size in written.indexes.items()}
    return {name: size for name, size in sorted(grown.items(), key=lambda i: -i[1]) if size}


def _lsn(position: str) -> int:
    high, low = position.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _pgbench_costs(settings: Settings, postmaster: psutil.Process) -> tuple[int, float, int]:
    """The baseline on the same server: pgbench's TPC-B-like transactions for
    ``CONFIG.seconds``; their number, PostgreSQL's CPU seconds and the WAL bytes."""
    conninfo = base._pgbench_init(settings, CONFIG)
    _checkpoint(conninfo)
    lsn, cpu = _one(conninfo, _LSN), _tree_cpu(postmaster, reaped=True)
    tps = base._pgbench(conninfo, CONFIG)
    cpu = _tree_cpu(postmaster, reaped=True) - cpu
    wal = _lsn(_one(conninfo, _LSN)) - _lsn(lsn)
    asyncio.run(drop_database(database_url(settings, database=base.PGBENCH_DATABASE)))
    return round(tps * CONFIG.seconds), cpu, wal


@dataclass(frozen=True)
class _Run:
    before: _Snapshot
    written: _Snapshot  # after the payments, before the worker's passes: the rows as written
    after: _Snapshot
    failed: int
    seconds: float
    db_cpu: float
    app_cpu: float
    postmaster: psutil.Process


def _run(settings: Settings, url: URL, payments: int, say: Callable[[str], Any]) -> _Run:
    """``payments`` signed payments through the warmed-up hub, measured around."""
    conninfo, warmup = libpq_url(url), CONFIG.max_rate * CONFIG.warmup_seconds
    with tempfile.TemporaryDirectory(prefix="utilipay-capacity-") as tmp:
        timed = Path(tmp, "timed")
        timed.mkdir()
        with base.serving(settings, url, CONFIG, Path(tmp), say) as port:
            # signed after the warm-up: their timestamps stay inside the 300 s window
            world.sign_requests(timed, warmup + 1, payments, CONFIG.load_threads)
            postmaster, hub = _postmaster(conninfo), _uvicorn()
            # the warm-up's last payments land, and an idle backend's counters reach
            # pg_stat_* within PGSTAT_IDLE_INTERVAL (10 s)
            time.sleep(11)
            _worker_passes(conninfo)  # over the warm-up's rows: the run's passes see its own
            _checkpoint(conninfo)
            before = _snapshot(conninfo)
            db_cpu, app_cpu = _tree_cpu(postmaster, reaped=True), _tree_cpu(hub, reaped=False)
            say(f"{payments:,} payments …")
            started = time.monotonic()
            failed = _send(port, timed)
            seconds = time.monotonic() - started
            app_cpu = _tree_cpu(hub, reaped=False) - app_cpu
    _wait_for_backends_to_exit(conninfo)
    written = _snapshot(conninfo)
    _worker_passes(conninfo)
    after = _snapshot(conninfo)
    db_cpu = _tree_cpu(postmaster, reaped=True) - db_cpu
    return _Run(before, written, after, failed, seconds, db_cpu, app_cpu, postmaster)


def measure(settings: Settings, payments: int, say: Callable[[str], Any] = print) -> Measured:
    url = database_url(settings, database=world.BENCH_DATABASE)
    warmup = CONFIG.max_rate * CONFIG.warmup_seconds
    say(f"building {url.database} with {warmup + payments:,} accounts and bills …")
    asyncio.run(drop_database(url))
    upgrade(url)
    asyncio.run(world.seed(url, warmup + payments))
    run = _run(settings, url, payments, say)
    full_pages, wal_by_kind = _wal_stats(libpq_url(url), run.before.lsn, run.after.lsn)
    _, balanced, version = asyncio.run(base._verify(url))
    asyncio.run(drop_database(url))
    say("the baseline: pgbench …")
    transactions, pgbench_cpu, pgbench_wal = _pgbench_costs(settings, run.postmaster)
    return Measured(
        requested=payments,
        failed=run.failed,
        payments=run.after.payments - run.before.payments,
        seconds=run.seconds,
        db_cpu_seconds=run.db_cpu,
        app_cpu_seconds=run.app_cpu,
        wal_bytes=_lsn(run.after.lsn) - _lsn(run.before.lsn),
        wal_fpi_bytes=full_pages,
        wal_records=run.after.wal_records - run.before.wal_records,
        commits=run.after.commits - run.before.commits,
        tables=_growth(run.before, run.written, run.after),
        books_balanced=balanced,
        pgbench_transactions=transactions,
        pgbench_db_cpu_seconds=pgbench_cpu,
        pgbench_wal_bytes=pgbench_wal,
        wal_by_kind=wal_by_kind,
        index_bytes=_index_growth(run.before, run.written),
        machine={**base.machine(), "postgresql": version},
    )
