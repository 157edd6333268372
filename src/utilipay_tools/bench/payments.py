"""``utilipay bench payments``: payments per second over real HTTP, against pgbench.

The hub runs as its own uvicorn process(es) on a database of its own
(``utilipay_bench``, rebuilt each run) with durable commits. Every request is
signed before the timed phase; a separate load generator process (``wrk`` when
installed, else ``utilipay_tools.bench.loadgen``) replays them, each once. In the
same run, on the same server, pgbench's TPC-B-like transaction gives the
baseline: our payments/s divided by its tps is the figure to compare across
machines.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.engine import URL

from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.channels import service as channels_service
from utilipay.clock import SystemClock
from utilipay.config import Settings
from utilipay.db.embedded import embedded_bin
from utilipay.db.engine import (
    create_engine,
    database_url,
    drop_database,
    ensure_database,
    libpq_url,
)
from utilipay.runtime.books import check_books
from utilipay.runtime.install import upgrade
from utilipay.security.signing import canonical, sign
from utilipay.web.server import free_port
from utilipay_tools.processes import environment_for, start_api

BENCH_DATABASE = "utilipay_bench"
PGBENCH_DATABASE = "utilipay_pgbench"
CHANNEL = "BENCH"
SECRET = "bench-channel-secret-0123456789"  # noqa: S105 (a throwaway benchmark database)
BILLER = "BENCHWATER"


@dataclass(frozen=True)
class BenchConfig:
    seconds: int = 20
    rounds: int = 3  # each round: our timed run, then pgbench, so noise hits both alike
    warmup_seconds: int = 3
    connections: int = 64
    workers: int = 2
    load_threads: int = 2
    pgbench_clients: int = 16
    pgbench_scale: int = 10
    max_rate: int = 5000  # requests signed per second of run: more than the hub can take


@dataclass(frozen=True)
class LoadResult:
    requests: int
    duration_us: int
    status_errors: int
    socket_errors: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    exhausted_threads: int

    @property
    def per_second(self) -> float:
        return self.requests / (self.duration_us / 1e6)


@dataclass(frozen=True)
class Round:
    payments: LoadResult
    pgbench_tps: float

    @property
    def ratio(self) -> float:
        return self.payments.per_second / self.pgbench_tps


@dataclass(frozen=True)
class BenchResult:
    machine: dict[str, str]
    config: BenchConfig
    load_generator: str
    rounds: list[Round]
    payments_in_database: int
    books_balanced: bool

    @property
    def faults(self) -> list[str]:
        """Why these figures are not of payments made, if they are not: a round's error
        answers are fast, and a run whose requests failed would measure the refusals."""
        found = [
            f"round {n}: {r.payments.status_errors} error answers, "
            f"{r.payments.socket_errors} socket errors"
            for n, r in enumerate(self.rounds, 1)
            if r.payments.status_errors or r.payments.socket_errors
        ]
        if self.payments_in_database == 0:
            found.append("no payment in the database")
        if not self.books_balanced:
            found.append("the books do not balance")
        return found

    @property
    def median(self) -> Round:
        """The round with the median ratio (its own figures, not a mix of rounds)."""
        return sorted(self.rounds, key=lambda r: r.ratio)[len(self.rounds) // 2]

    def as_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "config": asdict(self.config),
            "load_generator": self.load_generator,
            "rounds": [
                {
                    "payments": asdict(r.payments),
                    "payments_per_second": round(r.payments.per_second, 1),
                    "pgbench_tps": round(r.pgbench_tps, 1),
                    "ratio_to_pgbench": round(r.ratio, 3),
                }
                for r in self.rounds
            ],
            "median_ratio_to_pgbench": round(self.median.ratio, 3),
            "valid": not self.faults,
            "faults": self.faults,
            "payments_in_database": self.payments_in_database,
            "books_balanced": self.books_balanced,
        }


async def _seed(url: URL, count: int) -> None:
    engine = create_engine(url, pool_size=1)
    clock = SystemClock()
    async with engine.begin() as conn:
        await channels_service.add_channel(conn, clock, code=CHANNEL, secret=SECRET, actor="bench")
        biller = await billers_service.add_biller(
            conn,
            clock,
            code=BILLER,
            name="benchmark water",
            category=Category.WATER,
            mode=IntegrationMode.HOSTED,
            account_rule=r"\d{10}",
            actor="bench",
        )
        await conn.execute(
            text(
                "INSERT INTO customer_accounts (biller_id, account_no, holder_name, created_at)"
                " SELECT :b, lpad(i::text, 10, '0'), '测试', now()"
                " FROM generate_series(1, :n) i"
            ),
            {"b": biller.id, "n": count},
        )
        await conn.execute(
            text(
                "INSERT INTO bills (biller_id, bill_no, account_no, period, amount, late_fee,"
                "                   due_date, status, issued_at)"
                " SELECT :b, 'B' || i, lpad(i::text, 10, '0'), '2026-10', 100 + i % 9000, 0,"
                "        date '2026-11-30', 'UNPAID', now()"
                " FROM generate_series(1, :n) i"
            ),
            {"b": biller.id, "n": count},
        )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        # Only the seeded tables: analysing the empty ones would record them as empty,
        # and plans cached while they grow would scan them whole until autoanalyze.
        await conn.execute(text("VACUUM ANALYZE customer_accounts, bills"))
    await engine.dispose()


Signer = Callable[[int], tuple[str, str]]  # request number -> (terminal id or "", secret)


def as_channel(n: int) -> tuple[str, str]:
    return "", SECRET


def _sign_requests(
    directory: Path, first: int, count: int, files: int, signer: Signer = as_channel
) -> None:
    """Write ``count`` signed payment requests, for accounts ``first``.., into ``files`` files,
    each signed as ``signer`` says: by the channel, or by a terminal with its own secret."""
    timestamp = str(int(time.time()))
    handles = [(directory / f"requests-{i + 1}.tsv").open("w") for i in range(files)]
    for i in range(first, first + count):
        body = orjson.dumps(
            {
                "order_id": f"BENCH{i:09d}",
                "biller": BILLER,
                "account": f"{i:010d}",
                "amount": 100 + i % 9000,
                "bill_nos": [f"B{i}"],
                "payer": f"bench-payer-{i}",
            }
        )
        nonce = f"bench-{timestamp}-{i:09d}"
        terminal, secret = signer(i)
        signature = sign(secret, canonical("POST", "/v1/payments", timestamp, nonce, body))
        line = f"{timestamp}\t{nonce}\t{signature}\t{terminal}\t{body.decode()}\n"
        handles[i % files].write(line)
    for handle in handles:
        handle.close()


def _load(config: BenchConfig, port: int, directory: Path, seconds: int) -> tuple[str, LoadResult]:
    url = f"http://127.0.0.1:{port}"
    wrk = shutil.which("wrk")
    if wrk:
        script = resources.files("utilipay_tools.bench").joinpath("wrk_payments.lua")
        with resources.as_file(script) as lua:
            command = [
                wrk, "-t", str(config.load_threads), "-c", str(config.connections),
                "-d", f"{seconds}s", "--timeout", "10s", "-s", str(lua), url,
                "--", str(directory), CHANNEL,
            ]  # fmt: skip
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        name = "wrk"
    else:
        command = [
            sys.executable, "-m", "utilipay_tools.bench.loadgen", url, str(directory), CHANNEL,
            str(config.connections), str(seconds),
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        name = "utilipay_tools.bench.loadgen (wrk not installed)"
    summary = json.loads(out.strip().splitlines()[-1])
    return name, LoadResult(**summary)


def _pgbench_init(settings: Settings, config: BenchConfig) -> str:
    url = database_url(settings, database=PGBENCH_DATABASE)
    asyncio.run(drop_database(url))
    asyncio.run(ensure_database(url))
    conninfo = libpq_url(url)
    subprocess.run(
        [str(embedded_bin("pgbench")), "-i", "-q", "-s", str(config.pgbench_scale), conninfo],
        check=True,
        capture_output=True,
    )
    return conninfo


def _pgbench(conninfo: str, config: BenchConfig) -> float:
    run_args = ["-n", "-c", str(config.pgbench_clients), "-j", "2", "-T", str(config.seconds)]
    out = subprocess.run(
        [str(embedded_bin("pgbench")), *run_args, conninfo],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = re.search(r"tps = ([0-9.]+)", out)
    if not found:
        raise RuntimeError(f"pgbench printed no tps:\n{out}")
    return float(found.group(1))


async def _verify(url: URL) -> tuple[int, bool, str]:
    engine = create_engine(url, pool_size=1)
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM payments"))).scalar_one()
        balanced = all(r.passed for r in await check_books(conn))
        version = (await conn.execute(text("SHOW server_version"))).scalar_one()
    await engine.dispose()
    return int(count), balanced, str(version)


def machine() -> dict[str, str]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = found.group(1).strip() if found else ""
    return {
        "cpus": str(os.cpu_count()),
        "cpu_model": model,
        "python": platform.python_version(),
        "system": platform.platform(),
    }


@contextmanager
def serving(
    settings: Settings,
    url: URL,
    config: BenchConfig,
    directory: Path,
    say: Any,
    signer: Signer = as_channel,
) -> Iterator[int]:
    """The hub serving ``url`` in its own processes, warmed up with payments for accounts
    1.. signed as ``signer`` says; yields its port."""
    port = free_port()
    say(f"starting the hub: {config.workers} uvicorn worker(s) on port {port} …")
    server = start_api(environment_for(settings, url), port, config.workers)
    try:
        warm = directory / "warmup"
        warm.mkdir()
        count = config.max_rate * config.warmup_seconds
        _sign_requests(warm, 1, count, config.load_threads, signer)
        say(f"warming up for {config.warmup_seconds} s …")
        _load(config, port, warm, config.warmup_seconds)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(settings: Settings, config: BenchConfig, say: Any = print) -> BenchResult:
    url = database_url(settings, database=BENCH_DATABASE)
    per_round = config.max_rate * config.seconds
    warmup = config.max_rate * config.warmup_seconds
    total = warmup + per_round * config.rounds
    say(f"building {url.database} with {total:,} accounts and bills, and pgbench's database …")
    asyncio.run(drop_database(url))
    upgrade(url)
    asyncio.run(_seed(url, total))
    pgbench_db = _pgbench_init(settings, config)
    rounds: list[Round] = []
    generator = ""
    with (
        tempfile.TemporaryDirectory(prefix="utilipay-bench-") as tmp,
        serving(settings, url, config, Path(tmp), say) as port,
    ):
        for n in range(config.rounds):
            timed_dir = Path(tmp, f"round-{n}")
            timed_dir.mkdir()
            # signed just before use: timestamps stay inside the 300 s window
            _sign_requests(timed_dir, warmup + 1 + n * per_round, per_round, config.load_threads)
            say(f"round {n + 1}/{config.rounds}: payments for {config.seconds} s …")
            generator, result = _load(config, port, timed_dir, config.seconds)
            say(f"round {n + 1}/{config.rounds}: pgbench for {config.seconds} s …")
            rounds.append(Round(result, _pgbench(pgbench_db, config)))
    count, balanced, version = asyncio.run(_verify(url))
    asyncio.run(drop_database(url))
    asyncio.run(drop_database(database_url(settings, database=PGBENCH_DATABASE)))
    return BenchResult(
        machine={**machine(), "postgresql": version},
        config=config,
        load_generator=generator,
        rounds=rounds,
        payments_in_database=count,
        books_balanced=balanced,
    )
