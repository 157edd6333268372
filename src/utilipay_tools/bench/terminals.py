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

from utilipay.clock import SystemClock
from utilipay.config import Settings
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.ledger.accounts import hub_bank
from utilipay.runtime.install import upgrade
from utilipay.security.sealing import seal
from utilipay_tools.bench import payments as base

DEPOSIT = 10**12  # fen per outlet: no payment of the run is refused for its float
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


def _hot_terminal(n: int) -> str:
    return f"TH{n:06d}"


def _spread_terminal(n: int) -> str:
    return f"TS{n:06d}"


def _secret(terminal_id: str) -> str:
    return f"bench-terminal-secret-{terminal_id}-0123456789"


async def _seed_outlets(url: URL, hot_terminals: int, outlets: int) -> None:
    """Outlet O0 with ``hot_terminals`` terminals, outlets O1..On with one each; every
    float deposited as the deposits record it and the ledger books it (its rule
    ``ledger_post_float_deposit``, the hub's own bank account), set-based for a thousand
    outlets, so ``utilipay check`` holds at the end."""
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        bank = await hub_bank(conn, SystemClock())
        values = {"channel": base.CHANNEL, "n": outlets, "deposit": DEPOSIT, "bank": bank}
        for statement in _SEED_OUTLETS:
            await conn.execute(text(statement), values)
        hot = [(_hot_terminal(t), "O0") for t in range(hot_terminals)]
        spread = [(_spread_terminal(o), f"O{o}") for o in range(1, outlets + 1)]
        await conn.execute(
            text(
                "INSERT INTO terminals (id, outlet_id, type, label, secret, status, created_at)"
                " SELECT :id, id, 'pos_fixed', :id, :secret, 'ACTIVE', now() FROM outlets"
                " WHERE code = :outlet"
            ),
            [{"id": t, "outlet": o, "secret": seal(_secret(t))} for t, o in hot + spread],
        )
    await engine.dispose()


_SEED_OUTLETS = (
    "UPDATE channels SET kind = 'agent' WHERE code = :channel",
    "INSERT INTO ledger_accounts (code, kind, channel_id, currency, created_at)"
    " SELECT 'OUTLET_FLOAT:' || c.code || '.O' || i || '\\:CNY', 'OUTLET_FLOAT', c.id, 'CNY',"
    " now() FROM channels c, generate_series(0, :n) i WHERE c.code = :channel",
    "INSERT INTO outlets (channel_id, code, name, kind, region, status, low_threshold,"
    " float_account, created_at)"
    " SELECT a.channel_id, split_part(split_part(a.code, '.', 2), ':', 1), 'bench shop',"
    " 'shop', '360600', 'ACTIVE', 0, a.id, now() FROM ledger_accounts a"
    " WHERE a.kind = 'OUTLET_FLOAT'",
    "INSERT INTO outlet_floats SELECT id, :deposit, 0 FROM outlets",
    "INSERT INTO float_deposits (outlet_id, amount, bank_reference, source, recorded_by,"
    " recorded_at) SELECT id, :deposit, 'BENCH-' || code, 'OPERATOR', 'bench', now()"
    " FROM outlets",
    "SELECT ledger_post_float_deposit(now(), :bank, float_account, :deposit, 'BENCH-' || code)"
    " FROM outlets",
)


def _signers(hot_terminals: int, outlets: int) -> dict[str, base.Signer]:
    def one_outlet(n: int) -> tuple[str, str]:
        terminal = _hot_terminal(n % hot_terminals)
        return terminal, _secret(terminal)

    def spread(n: int) -> tuple[str, str]:
        terminal = _spread_terminal(n % outlets + 1)
        return terminal, _secret(terminal)

    return {"channel": base.as_channel, "one_outlet": one_outlet, "spread": spread}


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
    url = database_url(settings, database=base.BENCH_DATABASE)
    per_load = config.max_rate * config.seconds
    warmup = config.max_rate * config.warmup_seconds
    total = warmup + per_load * len(KINDS) * config.rounds
    say(f"building {url.database}: {total:,} bills, {outlets + 1:,} outlets, and pgbench's …")
    asyncio.run(drop_database(url))
    upgrade(url)
    asyncio.run(base._seed(url, total))
    asyncio.run(_seed_outlets(url, config.connections, outlets))
    pgbench_db = base._pgbench_init(settings, config)
    signers = _signers(config.connections, outlets)
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
                base._sign_requests(directory, first, per_load, config.load_threads, signers[kind])
                first += per_load
                say(f"round {n + 1}/{config.rounds}: {kind} for {config.seconds} s …")
                generator, loads[kind] = _sampled_load(config, port, directory, url)
            say(f"round {n + 1}/{config.rounds}: pgbench for {config.seconds} s …")
            rounds.append(TerminalRound(loads, base._pgbench(pgbench_db, config)))
    count, balanced, version = asyncio.run(base._verify(url))
    asyncio.run(drop_database(url))
    asyncio.run(drop_database(database_url(settings, database=base.PGBENCH_DATABASE)))
    return TerminalBenchResult(
        machine={**base.machine(), "postgresql": version},
        config=config,
        outlets=outlets,
        load_generator=generator,
        rounds=rounds,
        payments_in_database=count,
        books_balanced=balanced,
    )
