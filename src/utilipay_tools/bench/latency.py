"""``utilipay bench latency``: payment latency at a fixed offered rate (open model).

``bench payments``' world (``world``: its database, seeded hosted bills, pre-signed
requests; the hub in its own uvicorn processes with durable commits), driven instead by
``utilipay_tools.bench.openloop``: requests sent on a schedule, each timed from when it
was due. For each rate, in the same run and on the same server: a short warm-up of
payments, two baselines (the same generator at the same rate against ``/healthz``, which
touches no database: what the HTTP path through the hub's router and the generator cost;
pgbench's TPC-B-like transaction at the same rate, ``pgbench_rate``: what the database
server's own tail is at that rate), then the timed payments.
The CPU the hub's server processes and the database server spend per payment is read
from /proc (psutil) around each timed run: on a shared machine that is steadier than
any rate.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text
from sqlalchemy.engine import URL

from utilipay.config import Settings
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.runtime.install import upgrade
from utilipay.web.server import free_port
from utilipay_tools.bench import payments as base
from utilipay_tools.bench import pgbench_rate, world
from utilipay_tools.processes import environment_for, start_api

TARGET_P99_MS = 50.0
# WAL written so far (bytes) and transactions committed in the database: read around a
# timed run, they size the WAL disk and show how many payments share each commit.
_COUNTERS = text(
    "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, xact_commit"
    " FROM pg_stat_database WHERE datname = current_database()"
)


@dataclass(frozen=True)
class LatencyConfig:
    rates: tuple[int, ...] = (1000,)
    seconds: int = 60
    workers: int = 2
    connections: int = 128
    warmup_seconds: int = 3


@dataclass(frozen=True)
class Percentiles:
    p50_us: int
    p90_us: int
    p99_us: int
    p99_9_us: int
    max_us: int


@dataclass(frozen=True)
class OpenLoad:
    """One open-model run, as ``openloop`` printed it."""

    offered_rate: float
    requests: int
    answered: int
    status_errors: int
    socket_errors: int
    duration_us: int  # from the first due time to the last answer
    schedule_us: int  # from the first due time to the last request handed out
    latency: Percentiles  # from each request's due time: the figure
    service: Percentiles  # from its actual send: what a closed-model tool reports
    lag: Percentiles  # how late the generator handed requests out
    generator_cpu_seconds: float

    @property
    def achieved_rate(self) -> float:
        return self.answered / (self.duration_us / 1e6)

    @property
    def unanswered(self) -> int:
        return self.requests - self.answered

    @classmethod
    def parse(cls, summary: dict[str, Any]) -> OpenLoad:
        kinds = ("latency", "service", "lag")
        return cls(**{**summary, **{k: Percentiles(**summary[k]) for k in kinds}})


@dataclass(frozen=True)
class RateRun:
    rate: int
    payments: OpenLoad
    healthz: OpenLoad  # /healthz at the same rate
    pgbench: OpenLoad  # pgbench --rate at the same rate
    server_cpu_us: float  # the hub's server processes' CPU per answered payment
    database_cpu_us: float  # the database server's, per answered payment (0: not ours)
    wal_bytes: float  # WAL written per answered payment
    commits: float  # transactions committed per answered payment (< 1: shared commits)
    load_average: tuple[float, float, float]  # as the timed payments ended

    @property
    def loads(self) -> dict[str, OpenLoad]:
        return {"payments": self.payments, "/healthz": self.healthz, "pgbench": self.pgbench}

    @property
    def meets_target(self) -> bool:
        return self.payments.latency.p99_us < TARGET_P99_MS * 1000


@dataclass(frozen=True)
class LatencyResult:
    machine: dict[str, str]
    config: LatencyConfig
    runs: list[RateRun]
    payments_in_database: int
    books_balanced: bool

    @property
    def faults(self) -> list[str]:
        """Why these figures are not of payments made: error answers are fast, and an
        unanswered request has no latency to rank, so either would flatter the tail."""
        found = [
            f"{kind} at {r.rate}/s: {load.status_errors} error answers, "
            f"{load.socket_errors} socket errors, {load.unanswered} unanswered"
            for r in self.runs
            for kind, load in r.loads.items()
            if load.status_errors or load.socket_errors or load.unanswered
        ]
        if self.payments_in_database == 0:
            found.append("no payment in the database")
        if not self.books_balanced:
            found.append("the books do not balance")
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "config": asdict(self.config),
            "target_p99_ms": TARGET_P99_MS,
            "rates": [_run_json(r) for r in self.runs],
            "valid": not self.faults,
            "faults": self.faults,
            "payments_in_database": self.payments_in_database,
            "books_balanced": self.books_balanced,
        }


def _run_json(run: RateRun) -> dict[str, Any]:
    def load(o: OpenLoad) -> dict[str, Any]:
        return {**asdict(o), "achieved_rate": round(o.achieved_rate, 1)}

    return {
        "rate": run.rate,
        "payments": load(run.payments),
        "baseline_healthz": load(run.healthz),
        "baseline_pgbench": load(run.pgbench),
        "p99_to_healthz_p99": round(run.payments.latency.p99_us / run.healthz.latency.p99_us, 2),
        "p99_to_pgbench_p99": round(run.payments.latency.p99_us / run.pgbench.latency.p99_us, 2),
        "p99_under_target": run.meets_target,
        "server_cpu_us_per_payment": round(run.server_cpu_us),
        "database_cpu_us_per_payment": round(run.database_cpu_us),
        "wal_bytes_per_payment": round(run.wal_bytes),
        "commits_per_payment": round(run.commits, 3),
        "load_average": run.load_average,
    }


def _open_load(port: int, rate: int, seconds: int, connections: int, *target: str) -> OpenLoad:
    command = [
        sys.executable, "-m", "utilipay_tools.bench.openloop", f"http://127.0.0.1:{port}",
        "--rate", str(rate), "--seconds", str(seconds), "--connections", str(connections),
        *target,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return OpenLoad.parse(json.loads(out.strip().splitlines()[-1]))


def _cpu_seconds(root: psutil.Process | None) -> float:
    """CPU time of ``root`` and its descendants now alive (a uvicorn parent and its
    workers; a postmaster and its backends, which the pools keep open)."""
    if root is None:
        return 0.0
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _postmaster(settings: Settings) -> psutil.Process | None:
    """The embedded server's postmaster (``postmaster.pid``'s first line); None for a
    server elsewhere, whose CPU this machine cannot see."""
    pid_file = settings.home / "pgdata" / "postmaster.pid"
    if settings.database_url or not pid_file.exists():
        return None
    return psutil.Process(int(pid_file.read_text().split()[0]))


async def _counters(url: URL) -> tuple[int, int]:
    engine = create_engine(url, pool_size=1)
    async with engine.connect() as conn:
        wal, commits = (await conn.execute(_COUNTERS)).one()
    await engine.dispose()
    return int(wal), int(commits)


@contextmanager
def _hub(settings: Settings, url: URL, workers: int) -> Iterator[tuple[int, psutil.Process]]:
    port = free_port()
    server = start_api(environment_for(settings, url), port, workers)
    try:
        yield port, psutil.Process(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


class _Accounts:
    """Signs payments for the seeded accounts in order, each paid once."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.next, self.batches = directory, 1, 0

    def sign(self, count: int) -> Path:
        self.batches += 1
        batch = self.directory / f"batch-{self.batches}"
        batch.mkdir()
        world.sign_requests(batch, self.next, count, files=1)
        self.next += count
        return batch


@dataclass(frozen=True)
class _Stage:
    """What a rate's runs go against."""

    port: int
    server: psutil.Process  # uvicorn's parent; its workers are its children
    url: URL
    postmaster: psutil.Process | None
    pgbench: str  # pgbench's database, libpq's form
    accounts: _Accounts

    def usage(self) -> list[float]:
        """What the payments use, as counters to subtract: the server processes' CPU
        seconds, the database server's, its WAL bytes and its commits."""
        database = asyncio.run(_counters(self.url))
        return [_cpu_seconds(self.server), _cpu_seconds(self.postmaster), *database]


def _measure(config: LatencyConfig, rate: int, stage: _Stage) -> RateRun:
    def load(*target: str) -> OpenLoad:
        return _open_load(stage.port, rate, config.seconds, config.connections, *target)

    payments = ("--channel", world.CHANNEL, "--directory")
    warm = stage.accounts.sign(rate * config.warmup_seconds)
    _open_load(stage.port, rate, config.warmup_seconds, config.connections, *payments, str(warm))
    healthz = load("--get", "/healthz")
    pgbench = OpenLoad.parse(pgbench_rate.run(stage.pgbench, rate, config.seconds))
    # signed just before use: timestamps stay inside the 300 s window
    timed = stage.accounts.sign(rate * config.seconds)
    before = stage.usage()
    paid = load(*payments, str(timed))
    load_average = os.getloadavg()
    used = [(a - b) / max(paid.answered, 1) for a, b in zip(stage.usage(), before, strict=True)]
    return RateRun(
        rate=rate,
        payments=paid,
        healthz=healthz,
        pgbench=pgbench,
        server_cpu_us=used[0] * 1e6,
        database_cpu_us=used[1] * 1e6,
        wal_bytes=used[2],
        commits=used[3],
        load_average=load_average,
    )


def run(
    settings: Settings, config: LatencyConfig, say: Callable[[str], Any] = print
) -> LatencyResult:
    url = database_url(settings, database=world.BENCH_DATABASE)
    total = sum(rate * (config.seconds + config.warmup_seconds) for rate in config.rates)
    say(f"building {url.database} with {total:,} accounts and bills …")
    asyncio.run(drop_database(url))
    upgrade(url)
    asyncio.run(world.seed(url, total))
    pgbench = base._pgbench_init(settings, base.BenchConfig())
    runs: list[RateRun] = []
    with (
        tempfile.TemporaryDirectory(prefix="utilipay-latency-") as tmp,
        _hub(settings, url, config.workers) as (port, server),
    ):
        say(f"the hub: {config.workers} uvicorn worker(s) on port {port}")
        postmaster = _postmaster(settings)
        stage = _Stage(port, server, url, postmaster, pgbench, _Accounts(Path(tmp)))
        for rate in config.rates:
            say(f"{rate}/s: warm-up, then /healthz, pgbench and payments, "
                f"{config.seconds} s each …")  # fmt: skip
            runs.append(_measure(config, rate, stage))
    count, balanced, version = base.verified_and_dropped(settings, url)
    return LatencyResult(
        machine={**base.machine(), "postgresql": version},
        config=config,
        runs=runs,
        payments_in_database=count,
        books_balanced=balanced,
    )
