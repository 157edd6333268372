"""``utilipay bench recon-run``: a whole ``recon run`` of a day, from PostgreSQL and back.

``bench recon`` times the matching alone, in DuckDB. This one times what an operator
waits for: a database of its own (``utilipay_bench_recon_run``, rebuilt each run) gets
N hosted payments of one channel spread over a business day and the channel's
statement of that day with one line in a thousand missing (HUB_ONLY) and one in a
thousand for another amount (AMOUNT_MISMATCH); then ``recon.service.run_day`` runs
and commits: the payments and the statement copied out of PostgreSQL, matched and
classified in DuckDB, the breaks copied back, their corrections proposed. Seeding is
not timed; each step of the run is.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock
from utilipay.config import Settings
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.recon import service
from utilipay.runtime.install import upgrade
from utilipay_tools.bench.payments import machine

DATABASE = "utilipay_bench_recon_run"
DAY = date(2026, 11, 22)
FIRST = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)  # 01:00 in Shanghai on DAY
SPREAD_S = 80_000  # the payments fill 01:00 to 23:13, clear of the midnight cut-off
BENCH_SECRET = "bench-secret-0123456789"  # noqa: S105 - signs nothing: no request is made
MISSING, OTHER_AMOUNT = 3, 7  # the line i % 1000 == 3 is missing, == 7 is a fen more

_PAYMENTS = text(
    """
    WITH made AS (
        INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer,
                              account_no, amount, bill_nos, status, receipt_no, created_at,
                              finished_at)
        SELECT b.id, 'P' || i, c.id, 'O' || i, '\\x00', 'payer', lpad(i::text, 10, '0'),
               100 + i % 9000, '{}', 'SUCCEEDED', 'R' || i,
               CAST(:first AS timestamptz) + i * CAST(:step AS numeric) * interval '1 s',
               CAST(:first AS timestamptz) + (i * CAST(:step AS numeric) + 1) * interval '1 s'
          FROM generate_series(1, CAST(:n AS integer)) i, billers b, channels c
        RETURNING channel_id, order_id, biller_id, id)
    INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id) SELECT * FROM made
    """
)
_IMPORT = text(
    """
    INSERT INTO statement_imports (kind, party, party_code, business_date, file_name, sha256,
                                   line_count, total_amount, summary, actor, imported_at)
    VALUES ('generic_csv', 'channel', 'WECHAT', CAST(:day AS date), 'bench.csv',
            repeat('0', 64), CAST(:n AS integer), 0, '{}', 'bench', CAST(:first AS timestamptz))
    RETURNING id
    """
)
_LINES = text(
    """
    INSERT INTO statement_lines (import_id, line_no, order_id, amount, currency, status,
                                 occurred_at, business_date)
    SELECT CAST(:import AS bigint), i, 'O' || i,
           100 + i % 9000 + CASE WHEN i % 1000 = :other THEN 1 ELSE 0 END, 'CNY', 'PAID',
           CAST(:first AS timestamptz) + (i * CAST(:step AS numeric) + 1) * interval '1 s',
           CAST(:day AS date)
      FROM generate_series(1, CAST(:n AS integer)) i WHERE i % 1000 <> :missing
    """
)


@dataclass(frozen=True, slots=True)
class RunBench:
    payments: int
    seed_seconds: float
    run_seconds: float
    steps: dict[str, float]
    cpu: dict[str, float | None]  # seconds of the run: the server's and this process's
    counts: dict[str, int]
    machine: dict[str, str]

    @property
    def correct(self) -> bool:
        breaks = self.payments // 1000 + (1 if self.payments % 1000 >= MISSING else 0)
        odd = self.payments // 1000 + (1 if self.payments % 1000 >= OTHER_AMOUNT else 0)
        return (self.counts["HUB_ONLY"], self.counts["AMOUNT_MISMATCH"]) == (breaks, odd) and (
            self.counts["MATCHED"] == self.payments - breaks - odd
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "payments": self.payments, "seed_seconds": round(self.seed_seconds, 1),
            "run_seconds": round(self.run_seconds, 2), "steps": self.steps, "cpu": self.cpu,
            "counts": self.counts, "correct": self.correct, "machine": self.machine,
        }  # fmt: skip


async def _seed(engine: AsyncEngine, clock: FrozenClock, n: int) -> None:
    # seconds between two payments (numeric in SQL: never a float)
    values = {"n": n, "first": FIRST, "step": Decimal(SPREAD_S) / n, "day": DAY,
              "missing": MISSING, "other": OTHER_AMOUNT}  # fmt: skip
    async with engine.begin() as conn:
        await channels_service.add_channel(
            conn, clock, code="WECHAT", secret=BENCH_SECRET, actor="bench"
        )
        await billers_service.add_biller(
            conn, clock, code="BJWATER", name="bench water", category=Category.WATER,
            mode=IntegrationMode.HOSTED, account_rule=r"\d{10}", actor="bench",
        )  # fmt: skip
        await conn.execute(_PAYMENTS, values)
        import_id = await conn.scalar(_IMPORT, values)
        await conn.execute(_LINES, {**values, "import": import_id})
    async with engine.connect() as conn:  # fresh statistics, as autovacuum would leave them
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE payments, statement_lines"))


def _server_cpu(backend_pid: int) -> float | None:
    """CPU seconds so far of the PostgreSQL server a backend belongs to: its processes' and
    those it reaped (a query's parallel workers come and go). None when the server is not
    a process of this machine (a ``database_url`` elsewhere)."""
    try:
        backend = psutil.Process(backend_pid)
        server = backend.parent()
        if server is None or "postgres" not in backend.name():
            return None
        with server.oneshot():
            own = server.cpu_times()
        busy = own.user + own.system + own.children_user + own.children_system
        for child in server.children():
            with suppress(psutil.NoSuchProcess):
                times = child.cpu_times()
                busy += times.user + times.system
    except psutil.Error:
        return None
    return float(busy)


def _own_cpu() -> float:
    times = psutil.Process().cpu_times()  # every thread's: DuckDB's included
    return float(times.user + times.system)


async def _seeded(engine: AsyncEngine, clock: FrozenClock, n: int, say: Any) -> float:
    """Seconds spent seeding the day; none when a kept database already holds it."""
    async with engine.connect() as conn:
        held = await conn.scalar(text("SELECT count(*) FROM statement_imports"))
    if held:
        say(f"reusing the kept database's {n:,} payments")
        return 0.0
    say(f"seeding {n:,} payments and a statement of the day …")
    started = time.perf_counter()
    await _seed(engine, clock, n)
    return time.perf_counter() - started


async def _reconcile(
    engine: AsyncEngine, clock: FrozenClock
) -> tuple[Any, dict[str, float], dict[str, float | None]]:
    steps: dict[str, float] = {}
    mark: list[Any] = [time.perf_counter(), None]

    def step(what: str) -> None:
        now = time.perf_counter()
        if mark[1] is not None:
            steps[mark[1]] = round(now - mark[0], 2)
        mark[:] = [now, what]

    async with engine.begin() as conn:
        backend = int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)
        server, own = _server_cpu(backend), _own_cpu()
        report = await service.run_day(conn, clock, DAY, actor="bench", step=step)
    steps[mark[1]] = round(time.perf_counter() - mark[0], 2)
    after = _server_cpu(backend)
    cpu = {
        "server": None if server is None or after is None else round(after - server, 2),
        "bench_process": round(_own_cpu() - own, 2),
    }
    return report, steps, cpu


async def _run(settings: Settings, n: int, say: Any, *, keep: bool) -> RunBench:
    url = database_url(settings, database=f"{DATABASE}_{n}" if keep else DATABASE)
    if not keep:
        await drop_database(url)
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url, pool_size=1)
    clock = FrozenClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))  # 09:00 the next morning
    try:
        seeded = await _seeded(engine, clock, n, say)
        say("reconciling the day (committed) …")
        started = time.perf_counter()
        report, steps, cpu = await _reconcile(engine, clock)
        took = time.perf_counter() - started
    finally:
        await engine.dispose()
        if not keep:
            await drop_database(url)
    counts = {k: int(v) for k, v in report.run["counts"].items()}
    return RunBench(n, seeded, took, steps, cpu, counts, machine())


def run(settings: Settings, n: int, say: Any = print, *, keep: bool = False) -> RunBench:
    """``keep``: seed a database of N payments once and keep it (each run then reconciles
    the same day again, committed), so that builds can be compared without reseeding."""
    if n < 1000:
        raise ValueError("--payments must be at least 1,000 (a break of each kind)")
    return asyncio.run(_run(settings, n, say, keep=keep))
