"""``utilipay bench terminals``: terminal payments/s, from one outlet's float and spread
over many outlets, against the channel payment benchmark and pgbench in the same run.

The method is ``bench payments``' (its database, seed, pre-signed requests, load
generator and pgbench baseline): each round runs, one after the other on the same
server, the channel's own payments, then terminal payments all from one outlet (every
payment locks the same float row: the worst case), then terminal payments each from one
of ``outlets`` outlets, then pgbench. While each load runs, the number of the hub's
database sessions waiting on a lock is sampled every 100 ms: what one hot float row
costs is measured there, not guessed.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL

from utilipay.config import Settings
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.runtime.install import upgrade
from utilipay_tools.bench import outlet_world, world
from utilipay_tools.bench import payments as base

KINDS = ("channel", "one_outlet", "spread")
_LOCK_WAITS = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


@dataclass(frozen=True)
class Load:
    result: base.LoadResult
    lock_waiters: float  # mean sessions waiting on a lock while it ran


@dataclass(frozen=True)
class TerminalRound:
    loads: dict[str, Load]  # by KINDS
    pgbench_tps: float

    def to_channel(self, kind: str) -> float:
        return self.loads[kind].result.per_second / self.loads["channel"].result.per_second

    def to_pgbench(self, kind: str) -> float:
        return self.loads[kind].result.per_second / self.pgbench_tps


@dataclass(frozen=True)
class TerminalBenchResult:
    machine: dict[str, str]
    config: base.BenchConfig
    outlets: int
    load_generator: str
    rounds: list[TerminalRound]
    payments_in_database: int
    books_balanced: bool

    @property
    def faults(self) -> list[str]:
        loads = (
            (f"round {n} {kind}", load.result)
            for n, r in enumerate(self.rounds, 1)
            for kind, load in r.loads.items()
        )
        return base.run_faults(loads, self.payments_in_database, self.books_balanced)

    def median(self, kind: str) -> float:
        """The median ratio of ``kind``'s payments/s to the channel's in the same round."""
        return sorted(r.to_channel(kind) for r in self.rounds)[len(self.rounds) // 2]

    def as_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "config": asdict(self.config),
            "outlets": self.outlets,
            "load_generator": self.load_generator,
            "rounds": [_round_json(r) for r in self.rounds],
            "median_ratio_to_channel": {k: round(self.median(k), 3) for k in KINDS[1:]},
            "payments_in_database": self.payments_in_database,
            "books_balanced": self.books_balanced,
            "valid": not self.faults,
            "faults": self.faults,
        }


def _round_json(r: TerminalRound) -> dict[str, Any]:
    found: dict[str, Any] = {"pgbench_tps": round(r.pgbench_tps, 1)}
    for kind, load in r.loads.items():
        found[kind] = {
            "load": asdict(load.result),
            "payments_per_second": round(load.result.per_second, 1),
            "ratio_to_channel": round(r.to_channel(kind), 3),
            "ratio_to_pgbench": round(r.to_pgbench(kind), 3),
            "lock_waiters": round(load.lock_waiters, 2),
        }
    return found


async def _lock_waiters(url: URL, running: Future[Any]) -> float:
    engine = create_engine(url, pool_size=1)
    samples: list[int] = []
    async with engine.connect() as conn:
        # each sample its own snapshot of pg_stat_activity, not the transaction's first
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        while not running.done():
            samples.append(int((await conn.execute(_LOCK_WAITS)).scalar_one()))
            await asyncio.sleep(0.1)
    await engine.dispose()
    return sum(samples) / len(samples) if samples else 0.0


def _sampled_load(
    config: base.BenchConfig, port: int, directory: Path, url: URL
) -> tuple[str, Load]:
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(base._load, config, port, directory, config.seconds)
        waiters = asyncio.run(_lock_waiters(url, running))
        name, result = running.result()
    return name, Load(result, waiters)


def run(
    settings: Settings, config: base.BenchConfig, outlets: int, say: Callable[[str], Any] = print
) -> TerminalBenchResult:
    url = database_url(settings, database=world.BENCH_DATABASE)
    per_load = config.max_rate * config.seconds
    warmup = config.max_rate * config.warmup_seconds
    total = warmup + per_load * len(KINDS) * config.rounds
    say(f"building {url.database}: {total:,} bills, {outlets + 1:,} outlets, and pgbench's …")
    asyncio.run(drop_database(url))
    upgrade(url)
    asyncio.run(world.seed(url, total))
    asyncio.run(outlet_world.seed_outlets(url, config.connections, outlets))
    pgbench_db = base._pgbench_init(settings, config)
    signers = outlet_world.signers(config.connections, outlets)
    rounds: list[TerminalRound] = []
    generator = ""
    with (
        tempfile.TemporaryDirectory(prefix="utilipay-bench-") as tmp,
        base.serving(settings, url, config, Path(tmp), say, signers["spread"]) as port,
    ):
        first = warmup + 1
        for n in range(config.rounds):
            loads: dict[str, Load] = {}
            for kind in KINDS:
                directory = Path(tmp, f"round-{n}-{kind}")
                directory.mkdir()
                world.sign_requests(directory, first, per_load, config.load_threads, signers[kind])
                first += per_load
                say(f"round {n + 1}/{config.rounds}: {kind} for {config.seconds} s …")
                generator, loads[kind] = _sampled_load(config, port, directory, url)
            say(f"round {n + 1}/{config.rounds}: pgbench for {config.seconds} s …")
            rounds.append(TerminalRound(loads, base._pgbench(pgbench_db, config)))
    count, balanced, version = base.verified_and_dropped(settings, url)
    return TerminalBenchResult(
        machine={**base.machine(), "postgresql": version},
        config=config,
        outlets=outlets,
        load_generator=generator,
        rounds=rounds,
        payments_in_database=count,
        books_balanced=balanced,
    )
