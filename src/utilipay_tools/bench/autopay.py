"""``utilipay bench autopay``: scheduling the day's debits for a million active mandates.

A database of its own (``utilipay_bench_autopay``, rebuilt each run) gets N
accounts, each with an ACTIVE mandate and one bill issued after signing. The
timed statement is the engine's real scheduling statement (``autopay.schedule``):
every bill's window from the working-day calendar, the cap, the one-debit-per-bill
check, N debits and N outbox events. The baseline, in the same run on the same
server, inserts the same N debits and N events with no logic at all (no join,
no window, no check), so the ratio says what the logic costs.

Then the engine's send passes run for a while against the channel simulator (in
its own process; every debit succeeds): each debit is POSTed to the channel,
recorded, and its bill written off with its ledger entries, as the worker does —
in one worker process, then (``processes`` > 1) in that many at once over the
same due debits. The bare request rate of one process, in the same run against
the same simulator, is the baseline (``autopay_send``). The rate says how long
the day's debits take to send; they have three working days.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.autopay.schedule import schedule_debits
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock
from utilipay.config import Settings
from utilipay.db import embedded
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.runtime.install import upgrade
from utilipay.web.server import free_port
from utilipay_tools.bench import autopay_send
from utilipay_tools.bench.autopay_send import Bare, CpuMeter, Sent
from utilipay_tools.bench.payments import machine
from utilipay_tools.processes import start_channel_sim

DATABASE = "utilipay_bench_autopay"
SIGNED = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # Friday 09:00 in Shanghai
ISSUED = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00
CHANNEL_SECRET = "bench-channel-secret-0123456789"  # noqa: S105 (a throwaway database)

_ACCOUNTS = """
INSERT INTO customer_accounts (biller_id, account_no, holder_name, created_at)
SELECT :b, lpad(i::text, 10, '0'), '测试', :signed FROM generate_series(1, :n) i
"""
_MANDATES = """
INSERT INTO mandates (biller_id, id, channel_id, payer, account_no, cap, funding_sources,
                      status, signed_at, updated_at)
SELECT :b, 'M' || lpad(i::text, 12, '0'), :c, 'payer-' || i, lpad(i::text, 10, '0'),
       100000, '[{"id": "card-1", "label": "card"}, {"id": "balance", "label": "balance"}]',
       'ACTIVE', :signed, :signed
  FROM generate_series(1, :n) i
"""
# one bill in fifty is over the 1,000-yuan cap: those are skipped
_BILLS = """
INSERT INTO bills (biller_id, bill_no, account_no, period, amount, late_fee, due_date, status,
                   issued_at)
SELECT :b, 'B' || i, lpad(i::text, 10, '0'), '2026-10',
       CASE WHEN i % 50 = 0 THEN 150000 ELSE 1000 + i % 9000 END, 0, date '2026-12-10',
       'UNPAID', :issued
  FROM generate_series(1, :n) i
"""
_BASELINE = """
WITH rows AS (
    INSERT INTO debits (biller_id, id, mandate_id, channel_id, payer, account_no, purpose,
                        bill_nos, amount, status, issued_at, planned_at, deadline,
                        next_attempt_at, created_at)
    SELECT :b, 'X' || lpad(i::text, 12, '0'), 'M' || i, :c, 'payer', lpad(i::text, 10, '0'),
           'prepaid_topup', ARRAY['B' || i], 1000, 'SCHEDULED', :issued, :issued, :issued,
           :issued, :issued
      FROM generate_series(1, :n) i
    RETURNING biller_id, id
)
INSERT INTO outbox_events (biller_id, event_type, aggregate_id, payload, occurred_at)
SELECT biller_id, 'bench.baseline', id, jsonb_build_object('debit_id', id), :issued FROM rows
"""

_UPDATES = "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'debits'"


@dataclass(frozen=True)
class AutopayBench:
    mandates: int
    seed_seconds: float
    schedule_seconds: float
    scheduled: dict[str, int]
    rerun_seconds: float
    baseline_seconds: float
    bare: Bare
    sent: list[Sent]  # one process, then as many as asked for
    debit_updates: dict[str, int]  # by all the senders: how many, how many HOT
    machine: dict[str, str]

    @property
    def ratio(self) -> float:
        return self.schedule_seconds / self.baseline_seconds

    def as_json(self) -> dict[str, Any]:
        return {
            "mandates": self.mandates,
            "seed_seconds": round(self.seed_seconds, 1),
            "schedule_seconds": round(self.schedule_seconds, 2),
            "scheduled": self.scheduled,
            "rerun_seconds": round(self.rerun_seconds, 2),
            "baseline_seconds": round(self.baseline_seconds, 2),
            "schedule_over_baseline": round(self.ratio, 2),
            "bare_requests": self.bare.as_json(),
            "sent": [sent.as_json() for sent in self.sent],
            "debit_updates": self.debit_updates,
            "machine": self.machine,
        }


async def seed(engine: AsyncEngine, count: int, debit_url: str) -> tuple[int, int]:
    clock = FrozenClock(SIGNED)
    async with engine.begin() as conn:
        channel = await channels_service.add_channel(
            conn, clock, code="BENCH", secret=CHANNEL_SECRET, debit_url=debit_url, actor="bench",
        )  # fmt: skip
        biller = await billers_service.add_biller(
            conn, clock, code="BENCHWATER", name="bench", category=Category.WATER,
            mode=IntegrationMode.HOSTED, account_rule=r"\d{10}", actor="bench",
        )  # fmt: skip
        values = {"b": biller.id, "c": channel.id, "n": count, "signed": SIGNED, "issued": ISSUED}
        for statement in (_ACCOUNTS, _MANDATES, _BILLS):
            await conn.execute(text(statement), values)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE customer_accounts, mandates, bills"))
    return biller.id, channel.id


async def _timed(engine: AsyncEngine, work: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    async with engine.begin() as conn:
        result = await work(conn)
    return time.perf_counter() - started, result


async def _run(
    settings: Settings, count: int, send_for: float, processes: int, say: Any
) -> AutopayBench:
    url = database_url(settings, database=DATABASE)
    await drop_database(url)
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url, pool_size=2)
    say(f"seeding {count:,} accounts, mandates and new bills …")
    started = time.perf_counter()
    port = free_port()
    biller_id, channel_id = await seed(engine, count, f"http://127.0.0.1:{port}/debits")
    seeded = time.perf_counter() - started
    now = ISSUED + timedelta(minutes=5)
    say("scheduling (the engine's statement) …")
    schedule_seconds, scheduled = await _timed(engine, lambda c: schedule_debits(c, now))
    say("scheduling again (nothing new to add) …")
    rerun_seconds, _ = await _timed(engine, lambda c: schedule_debits(c, now))
    say("baseline: the same number of bare debit and event inserts …")
    values = {"b": biller_id, "c": channel_id, "n": count, "issued": ISSUED}
    baseline_seconds, _ = await _timed(engine, lambda c: c.execute(text(_BASELINE), values))
    async with engine.begin() as conn:  # the baseline's rows are nobody's debits
        await conn.execute(text("DELETE FROM debits WHERE id LIKE 'X%'"))
        # after the pre-debit notice: every debit is due
        due: datetime = (
            await conn.execute(text("SELECT max(planned_at) FROM debits"))
        ).scalar_one()
        version = (await conn.execute(text("SHOW server_version"))).scalar_one()
        # As a hub's debits table has (autovacuum's): without statistics of the new table
        # the planner guessed ~90 due rows and, by chance of when autovacuum came, read all
        # 30,000 and sorted them for every batch's claim (0.3 s a claim, not 5 ms).
        await conn.execute(text("ANALYZE debits"))
    await engine.dispose()
    sim = start_channel_sim(port, CHANNEL_SECRET, due)
    try:
        bare, sent = await asyncio.to_thread(
            _send, settings, url, due, channel_id, send_for, processes, sim.pid or 0, say
        )
    finally:
        sim.terminate()
        sim.join()
    updates = await _debit_updates(url)
    await drop_database(url)
    return AutopayBench(
        mandates=count,
        seed_seconds=seeded,
        schedule_seconds=schedule_seconds,
        scheduled=scheduled,
        rerun_seconds=rerun_seconds,
        baseline_seconds=baseline_seconds,
        bare=bare,
        sent=sent,
        debit_updates=updates,
        machine={**machine(), "postgresql": str(version)},
    )


async def _debit_updates(url: URL) -> dict[str, int]:
    """How many times the senders updated a debit's row, and how many of those were HOT
    (no index written): the statistics of the senders' backends, sent as they ended."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(text(_UPDATES))).one()
    finally:
        await engine.dispose()
    return {"updates": row.n_tup_upd, "hot": row.n_tup_hot_upd}


def _send(
    settings: Settings, url: URL, due: datetime, channel_id: int, seconds: float,
    processes: int, simulator_pid: int, say: Any,
) -> tuple[Bare, list[Sent]]:  # fmt: skip
    postmaster = None if settings.database_url else embedded.status(settings.home).pid
    meter = CpuMeter(simulator_pid, postmaster)
    say(f"baseline: bare debit requests to the channel simulator for {seconds:.0f} s …")
    bare = autopay_send.bare(url, due, channel_id, seconds, meter)
    sent = []
    for senders in sorted({1, processes}):
        say(f"sending debits from {senders} worker process(es) for {seconds:.0f} s …")
        sent.append(autopay_send.send(url, due, seconds, senders, meter))
    return bare, sent


def run(
    settings: Settings, count: int, send_for: float = 30, processes: int = 1, say: Any = print
) -> AutopayBench:
    return asyncio.run(_run(settings, count, send_for, processes, say))
