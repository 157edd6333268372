"""``utilipay bench payments``: payments per second over real HTTP, against pgbench.

The hub runs as its own uvicorn process(es) on a database of its own
(``utilipay_bench``, rebuilt each run) with durable commits. Every request is
signed before the timed phase; a separate load generator process (``wrk`` when
installed, else ``utilipay_tools.bench.loadgen``) replays them, each once. Each round
runs its lines one after the other — the channel's own payments, terminal payments
spread over many outlets (each takes from its outlet's float), voucher redemptions.
pgbench's TPC-B-like transaction, on the same server, runs before the first line and after
every line: a line's baseline is the mean of the pgbench phases either side of it, and its
payments/s divided by that tps is the figure to compare across machines. On a shared host
pgbench's own tps moved 3,194–5,071 within one run (2026-12-07), so a baseline taken
minutes away from a line (once a round, as before) paired it with another host.
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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL

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
from utilipay.web.server import free_port
from utilipay_tools.bench import outlet_world, voucher_world, world
from utilipay_tools.processes import environment_for, start_api

PGBENCH_DATABASE = "utilipay_pgbench"
LINES = ("channel", "terminal", "voucher")


@dataclass(frozen=True)
class BenchConfig:
    seconds: int = 20
    rounds: int = 3  # each round: every line, each followed by pgbench
    warmup_seconds: int = 3
    connections: int = 64
    workers: int = 2
    load_threads: int = 2
    pgbench_clients: int = 16
    pgbench_scale: int = 10
    # requests signed per second of run, above what the hub takes on a fast host (5,000,
    # the old figure, ran out there: a fault, see ``load_faults``)
    max_rate: int = 8000
    lines: tuple[str, ...] = LINES
    outlets: int = 1000  # the terminal line's payments are spread over as many outlets


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


def load_faults(label: str, load: LoadResult) -> list[str]:
    """Why a load's rate is not the hub's: error answers are fast, so the rate would
    measure refusals; and a load generator that ran out of signed requests stopped early
    (wrk's threads then idle to the end, so the rate is at most what was signed)."""
    found = []
    if load.status_errors or load.socket_errors:
        found.append(
            f"{label}: {load.status_errors} error answers, {load.socket_errors} socket errors"
        )
    if load.exhausted_threads:
        found.append(
            f"{label}: the signed requests ran out ({load.exhausted_threads} load thread(s)):"
            f" {load.per_second:,.0f}/s is a floor, not the hub's rate"
        )
    return found


def run_faults(
    loads: Iterable[tuple[str, LoadResult]], payments_in_database: int, books_balanced: bool
) -> list[str]:
    """Why a run's figures are not the hub's payments, if they are not: a labelled load's
    faults (``load_faults``), or the run stored none, or its books do not balance."""
    found = [fault for label, load in loads for fault in load_faults(label, load)]
    if payments_in_database == 0:
        found.append("no payment in the database")
    if not books_balanced:
        found.append("the books do not balance")
    return found


@dataclass(frozen=True)
class Round:
    lines: dict[str, LoadResult]  # by LINES, in the order they ran
    pgbench: dict[str, tuple[float, float]]  # each line's: tps in the phases before, after

    def pgbench_tps(self, line: str) -> float:
        """``line``'s baseline: the mean of the pgbench phases either side of it."""
        before, after = self.pgbench[line]
        return (before + after) / 2

    def to_pgbench(self, line: str) -> float:
        return self.lines[line].per_second / self.pgbench_tps(line)

    @property
    def ratio(self) -> float:
        """The headline: the first line's (the channel's payments) payments/s ÷ tps."""
        return self.to_pgbench(next(iter(self.lines)))


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
        loads = (
            (f"round {n} {line}", load)
            for n, r in enumerate(self.rounds, 1)
            for line, load in r.lines.items()
        )
        return run_faults(loads, self.payments_in_database, self.books_balanced)

    @property
    def median(self) -> Round:
        """The round with the median ratio (its own figures, not a mix of rounds)."""
        return sorted(self.rounds, key=lambda r: r.ratio)[len(self.rounds) // 2]

    def median_of(self, line: str) -> float:
        """The median of ``line``'s ratios to pgbench over the rounds."""
        return sorted(r.to_pgbench(line) for r in self.rounds)[len(self.rounds) // 2]

    def as_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "config": asdict(self.config),
            "load_generator": self.load_generator,
            "rounds": [
                {
                    "lines": {
                        line: {
                            "load": asdict(load),
                            "per_second": round(load.per_second, 1),
                            "pgbench_tps_before_after": [round(t, 1) for t in r.pgbench[line]],
                            "ratio_to_pgbench": round(r.to_pgbench(line), 3),
                        }
                        for line, load in r.lines.items()
                    },
                }
                for r in self.rounds
            ],
            "median_ratio_to_pgbench": {
                line: round(self.median_of(line), 3) for line in self.config.lines
            },
            "valid": not self.faults,
            "faults": self.faults,
            "payments_in_database": self.payments_in_database,
            "books_balanced": self.books_balanced,
        }


def _load(config: BenchConfig, port: int, directory: Path, seconds: int) -> tuple[str, LoadResult]:
    url = f"http://127.0.0.1:{port}"
    wrk = shutil.which("wrk")
    if wrk:
        script = resources.files("utilipay_tools.bench").joinpath("wrk_payments.lua")
        with resources.as_file(script) as lua:
            command = [
                wrk, "-t", str(config.load_threads), "-c", str(config.connections),
                "-d", f"{seconds}s", "--timeout", "10s", "-s", str(lua), url,
                "--", str(directory), world.CHANNEL,
            ]  # fmt: skip
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        name = "wrk"
    else:
        command = [
            sys.executable, "-m", "utilipay_tools.bench.loadgen", url, str(directory),
            world.CHANNEL,
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


def verified_and_dropped(settings: Settings, url: URL) -> tuple[int, bool, str]:
    """The payments stored, whether the books balance and the server's version; then the
    run's database and pgbench's are dropped."""
    found = asyncio.run(_verify(url))
    asyncio.run(drop_database(url))
    asyncio.run(drop_database(database_url(settings, database=PGBENCH_DATABASE)))
    return found


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
    signer: world.Signer = world.as_channel,
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
        world.sign_requests(warm, 1, count, config.load_threads, signer)
        say(f"warming up for {config.warmup_seconds} s …")
        _load(config, port, warm, config.warmup_seconds)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclass(frozen=True)
class _Lines:
    """How each line's requests are signed: by whom, to which path, with which body."""

    signers: dict[str, world.Signer]
    vouchers: list[str]  # PINs sold, taken in order by the voucher line's requests

    def sign(self, line: str, directory: Path, first: int, count: int, files: int) -> None:
        if line == "voucher":
            pins, self.vouchers[:count] = self.vouchers[:count], []
            body = voucher_world.redemption_body(pins, first)
            world.sign_requests(directory, first, count, files,
                                path=voucher_world.REDEEM_PATH, body_of=body)  # fmt: skip
        else:
            world.sign_requests(directory, first, count, files, self.signers[line])


def _build(settings: Settings, config: BenchConfig, url: URL, say: Any) -> tuple[_Lines, str]:
    per_line = config.max_rate * config.seconds
    total = config.max_rate * config.warmup_seconds + per_line * len(config.lines) * config.rounds
    say(f"building {url.database} with {total:,} accounts and bills, and pgbench's database …")
    asyncio.run(drop_database(url))
    upgrade(url)
    asyncio.run(world.seed(url, total))
    signers: dict[str, world.Signer] = {"channel": world.as_channel}
    if "terminal" in config.lines:
        asyncio.run(outlet_world.seed_outlets(url, 1, config.outlets))
        signers["terminal"] = outlet_world.signers(1, config.outlets)["spread"]
    pins: list[str] = []
    if "voucher" in config.lines:
        say(f"issuing and selling {per_line * config.rounds:,} vouchers …")
        pins = asyncio.run(voucher_world.seed_vouchers(url, per_line * config.rounds))
    return _Lines(signers, pins), _pgbench_init(settings, config)


def run(settings: Settings, config: BenchConfig, say: Any = print) -> BenchResult:
    url = database_url(settings, database=world.BENCH_DATABASE)
    per_line = config.max_rate * config.seconds
    lines, pgbench_db = _build(settings, config, url, say)
    rounds: list[Round] = []
    generator = ""
    with (
        tempfile.TemporaryDirectory(prefix="utilipay-bench-") as tmp,
        serving(settings, url, config, Path(tmp), say) as port,
    ):
        first = config.max_rate * config.warmup_seconds + 1
        say(f"pgbench for {config.seconds} s …")
        before = _pgbench(pgbench_db, config)
        for n in range(config.rounds):
            loads: dict[str, LoadResult] = {}
            baselines: dict[str, tuple[float, float]] = {}
            for line in config.lines:
                directory = Path(tmp, f"round-{n}-{line}")
                directory.mkdir()
                # signed just before use: timestamps stay inside the 300 s window
                lines.sign(line, directory, first, per_line, config.load_threads)
                first += per_line
                say(f"round {n + 1}/{config.rounds}: {line} for {config.seconds} s …")
                generator, loads[line] = _load(config, port, directory, config.seconds)
                say(f"round {n + 1}/{config.rounds}: pgbench for {config.seconds} s …")
                after = _pgbench(pgbench_db, config)
                baselines[line], before = (before, after), after
            rounds.append(Round(loads, baselines))
    count, balanced, version = verified_and_dropped(settings, url)
    return BenchResult(
        machine={**machine(), "postgresql": version},
        config=config,
        load_generator=generator,
        rounds=rounds,
        payments_in_database=count,
        books_balanced=balanced,
    )
