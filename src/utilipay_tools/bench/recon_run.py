"""``utilipay bench recon-run``: a whole ``recon run`` of a day, from PostgreSQL and back.

``bench recon`` times the matching alone, in DuckDB. This one times what an operator
waits for: a database of its own (``utilipay_bench_recon_run``, rebuilt each run) gets
N hosted payments of one channel spread over a business day and the channel's
statement of that day with one line in a thousand missing (HUB_ONLY) and one in a
thousand for another amount (AMOUNT_MISMATCH); then ``recon.service.run_day`` runs
and commits: the payments and the statement copied out of PostgreSQL, matched and
classified in DuckDB, the breaks copied back, their corrections proposed. Seeding is
not timed; each step of the run is.

Each round reconciles the day twice on the same data, one run after the other: reading
the books out of PostgreSQL (the baseline, as before the columnar files) and reading
them from the Parquet files kept for them: the statement's by its import
(recon/columnar.py), the day's payments' by ``recon keep-payments`` (payments_file.py).
The bench writes each once, as those would, and gives their cost apart. The ratios are of the
medians, CPU (PostgreSQL's server and this process) first: the machine is shared.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock
from utilipay.config import Settings
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.recon import columnar, payments_file, service
from utilipay.recon.columnar import NOT_KEPT, Kept
from utilipay.runtime.install import upgrade
from utilipay_tools.bench.payments import machine

T = TypeVar("T")

DATABASE = "utilipay_bench_recon_run"
DAY = date(2026, 11, 22)
FIRST = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)  # 01:00 in Shanghai on DAY
SPREAD_S = 80_000  # the payments fill 01:00 to 23:13, clear of the midnight cut-off
BENCH_SECRET = "bench-secret-0123456789"  # noqa: S105 - signs nothing: no request is made
SEED_CHUNK = 1_000_000
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
          FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) i, billers b,
               channels c
        RETURNING channel_id, order_id, biller_id, id)
    INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id) SELECT * FROM made
    """
)
_IMPORT = text(
    """
    INSERT INTO statement_imports (kind, party, party_code, business_date, file_name, sha256,
                                   line_count, total_amount, summary, actor, imported_at)
    VALUES ('generic_csv', 'channel', 'WECHAT', CAST(:day AS date), 'bench.csv',
            repeat('0', 64), CAST(:n AS integer) - (CAST(:n AS integer) + 1000 - :missing) / 1000,
            0, '{}', 'bench', CAST(:first AS timestamptz))
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


# The builds a bench run compares, in turn on the same day: the books read out of
# PostgreSQL (the way before issue 15's columnar files), and read from their kept files.
BUILDS = ("postgresql", "kept file")


@dataclass(frozen=True, slots=True)
class Measured:
    """One run of the day: its wall time, each step's, its CPU and what it counted."""

    seconds: float
    steps: dict[str, float]
    cpu: dict[str, float | None]  # seconds of the run: the server's and this process's
    counts: dict[str, int]

    @property
    def cpu_total(self) -> float | None:
        server, own = self.cpu["server"], self.cpu["bench_process"]
        return None if server is None or own is None else server + own

    def as_json(self) -> dict[str, Any]:
        return {"run_seconds": round(self.seconds, 2), "steps": self.steps, "cpu": self.cpu,
                "counts": self.counts}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RunBench:
    payments: int
    seed_seconds: float
    keep_cpu: dict[str, float]  # the files written, as the import and keep-payments do
    runs: dict[str, list[Measured]]  # BUILDS' runs, in the order they ran, alternating
    machine: dict[str, str]

    @property
    def correct(self) -> bool:
        breaks = self.payments // 1000 + (1 if self.payments % 1000 >= MISSING else 0)
        odd = self.payments // 1000 + (1 if self.payments % 1000 >= OTHER_AMOUNT else 0)
        expected = {"HUB_ONLY": breaks, "AMOUNT_MISMATCH": odd,
                    "MATCHED": self.payments - breaks - odd}  # fmt: skip
        found = [m.counts for runs in self.runs.values() for m in runs]
        return bool(found) and all({k: n for k, n in c.items() if n} == expected for c in found)

    def median(self, build: str, figure: Callable[[Measured], float | None]) -> float | None:
        values = [figure(m) for m in self.runs[build]]
        return None if None in values else statistics.median(v for v in values if v is not None)

    def ratios(self) -> dict[str, float | None]:
        """The kept file's run ÷ PostgreSQL's, on the medians: CPU (server and own) and wall."""
        out: dict[str, float | None] = {}
        for name, figure in (("cpu", _cpu_total), ("wall", _wall)):
            after, before = self.median(BUILDS[1], figure), self.median(BUILDS[0], figure)
            out[name] = None if not after or not before else round(after / before, 2)
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "payments": self.payments, "seed_seconds": round(self.seed_seconds, 1),
            "keep_cpu": self.keep_cpu,
            "runs": {build: [m.as_json() for m in runs] for build, runs in self.runs.items()},
            "ratios": self.ratios(), "correct": self.correct, "machine": self.machine,
        }  # fmt: skip


def _cpu_total(m: Measured) -> float | None:
    return m.cpu_total


def _wall(m: Measured) -> float:
    return m.seconds


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
        # a million a statement: a statement's triggers gather its rows in arrays, which
        # PostgreSQL caps at a gigabyte (ten million payments at once went over)
        for lo in range(1, n + 1, SEED_CHUNK):
            chunk = {"lo": lo, "hi": min(lo + SEED_CHUNK - 1, n)}
            await conn.execute(_PAYMENTS, {**values, **chunk})
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


async def _kept(engine: AsyncEngine, kept: Kept, clock: FrozenClock, say: Any) -> dict[str, float]:
    """The statement's file and the day's payments' file, each written as the import and
    ``recon keep-payments`` write it when it is not there yet (a day just seeded): the CPU
    seconds of each, the server's and this process's."""
    spent: dict[str, float] = {}
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            row = (await conn.execute(text(_STATEMENT))).one()
            if not (row.columnar_sha256 and kept.path(row.columnar_sha256).is_file()):
                say("keeping the statement as a file, as its import does …")
                spent["statement"], _ = await _cpu_of(conn, columnar.keep(conn, row.id, kept))
            say("keeping the day's payments as a file, as recon keep-payments does …")
            cpu, day = await _cpu_of(conn, payments_file.keep(conn, DAY, kept, clock.now()))
            if day.written:  # not when the kept day's file already held them
                spent["payments"] = cpu
    return spent


async def _cpu_of(conn: AsyncConnection, work: Awaitable[T]) -> tuple[float, T]:
    """CPU seconds of the server and this process while ``work`` runs on ``conn``, and
    what it gave."""
    backend = int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)
    server, own = _server_cpu(backend), _own_cpu()
    done = await work
    after = _server_cpu(backend)
    spent = _own_cpu() - own + (0.0 if server is None or after is None else after - server)
    return round(spent, 2), done


_STATEMENT = "SELECT id, columnar_sha256 FROM statement_imports"


async def _reconcile(engine: AsyncEngine, clock: FrozenClock, kept: Kept) -> Measured:
    steps: dict[str, float] = {}
    mark: list[Any] = [time.perf_counter(), None]

    def step(what: str) -> None:
        now = time.perf_counter()
        if mark[1] is not None:
            steps[mark[1]] = round(now - mark[0], 2)
        mark[:] = [now, what]

    started = time.perf_counter()
    async with engine.begin() as conn:
        backend = int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)
        server, own = _server_cpu(backend), _own_cpu()
        report = await service.run_day(conn, clock, DAY, actor="bench", step=step, kept=kept)
    steps[mark[1]] = round(time.perf_counter() - mark[0], 2)
    took = time.perf_counter() - started
    after = _server_cpu(backend)
    cpu = {
        "server": None if server is None or after is None else round(after - server, 2),
        "bench_process": round(_own_cpu() - own, 2),
    }
    counts = {k: int(v) for k, v in report.run["counts"].items()}
    return Measured(took, steps, cpu, counts)


async def _run(settings: Settings, n: int, say: Any, *, keep: bool, rounds: int) -> RunBench:
    with ExitStack() as stack:
        return await _measured(settings, n, say, keep=keep, rounds=rounds, stack=stack)


async def _measured(
    settings: Settings, n: int, say: Any, *, keep: bool, rounds: int, stack: ExitStack
) -> RunBench:
    url = database_url(settings, database=f"{DATABASE}_{n}" if keep else DATABASE)
    if not keep:
        await drop_database(url)
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url, pool_size=1)
    clock = FrozenClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))  # 09:00 the next morning
    # a kept day's file lives with the hub's other files; a day of one call, with it
    home = settings.home if keep else Path(stack.enter_context(tempfile.TemporaryDirectory()))
    kept = Kept.under(home)
    runs: dict[str, list[Measured]] = {build: [] for build in BUILDS}
    try:
        seeded = await _seeded(engine, clock, n, say)
        keep_cpu = await _kept(engine, kept, clock, say)
        for turn in range(rounds):
            for build, files in zip(BUILDS, (NOT_KEPT, kept), strict=True):
                say(f"reconciling the day (committed), statement from {build}, "
                    f"round {turn + 1} of {rounds} …")  # fmt: skip
                runs[build].append(await _reconcile(engine, clock, files))
    finally:
        await engine.dispose()
        if not keep:
            await drop_database(url)
    return RunBench(n, seeded, keep_cpu, runs, machine())


def run(
    settings: Settings, n: int, say: Any = print, *, keep: bool = False, rounds: int = 1
) -> RunBench:
    """``keep``: seed a database of N payments once and keep it (each run then reconciles
    the same day again, committed), so that builds can be compared without reseeding.
    Each of ``rounds`` reconciles the day once reading the statement from PostgreSQL and
    once from its kept file."""
    if n < 1000:
        raise ValueError("--payments must be at least 1,000 (a break of each kind)")
    return asyncio.run(_run(settings, n, say, keep=keep, rounds=rounds))
