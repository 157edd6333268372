"""``utilipay chaos``: the fault campaign. Nothing lost, nothing made twice, books balanced.

A remote utility (the simulator, with faults on) is paid through the hub by a
careful channel, and through the terminals of an agent channel's few outlets (from their
floats, some payments voided by the outlet at once), payment after payment, while the
worker that resolves
unknown outcomes is killed with SIGKILL at random moments and restarted, and
PostgreSQL itself is crashed and restarted once. The resolution schedule is
shortened so the campaign ends in minutes. Then it checks: every payment is
final; the utility holds a standing write-off exactly for the hub's
SUCCEEDED payments; ``utilipay check`` passes; the hub's statement equals
the utility's own records line for line; every outlet's float is its deposits less the
payments that stand, holding what is still PROCESSING.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billers import service as billers_service
from utilipay.billers.protocol.framing import SignType
from utilipay.billers.schemas import Biller, Category, IntegrationMode
from utilipay.billers.service import RemoteSettings
from utilipay.channels import service as channels_service
from utilipay.channels.schemas import ChannelKind
from utilipay.cli.operations import WORKER_RUNNING
from utilipay.clock import SystemClock
from utilipay.config import Settings
from utilipay.db.embedded import restart
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.outlets import deposits, service, terminal_admin
from utilipay.outlets.schemas import OutletKind, TerminalType
from utilipay.runtime.install import upgrade
from utilipay.web.server import ServerThread, free_port
from utilipay_tools.billersim.app import create_app, quiet_dropped_replies
from utilipay_tools.billersim.faults import FaultPlan, Faults
from utilipay_tools.billersim.simulator import SimConfig, Simulator
from utilipay_tools.billersim.tables import tables_for
from utilipay_tools.chaos import verify
from utilipay_tools.chaos.load import OPERATOR, LoadReport, PlannedPayment, plan, run_load
from utilipay_tools.processes import environment_for, start_api, start_worker

DATABASE = "utilipay_chaos"
CHANNEL, SECRET = "CHAOS", "chaos-channel-secret-0123456789"
BILLER, KEY, SCHEMA = "CHAOSWATER", "chaos-biller-key-0123456789", "billersim_chaos"
DEFAULT_FAULTS = "timeout=0.05,drop_response=0.05,error=0.05,slow=0.1,duplicate=0.02"
AGENT, AGENT_SECRET = "CHAOSAGENT", "chaos-agent-secret-0123456789"
OUTLETS, TERMINALS_PER_OUTLET = ("SHOP-1", "SHOP-2", "SHOP-3"), 4
AT_OUTLETS, VOIDED = 3, 5  # every 3rd payment at a terminal; every 5th of those voided


@dataclass(frozen=True)
class CampaignConfig:
    payments: int = 10_000  # accounts paid; twins and wrong amounts come on top
    concurrency: int = 32
    faults: str = DEFAULT_FAULTS
    seed: int = 1
    kill_every: tuple[float, float] = (1.0, 6.0)  # seconds between SIGKILLs of the worker
    restart_database: bool = True
    confirm_schedule: tuple[int, ...] = (1, 2, 4)
    # Short enough that some payments are still unknown when it passes, so reversals
    # (冲正) happen too, not only confirms.
    resolution_deadline_s: int = 5
    settle_timeout_s: int = 600


@dataclass
class CampaignReport:
    config: CampaignConfig
    load: LoadReport
    faults: dict[str, int]
    worker_kills: int
    database_restarts: int
    load_seconds: float
    settle_seconds: float
    outcomes: dict[str, int]
    verdicts: list[verify.Verdict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts) and not self.load.unanswered

    def as_json(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "payments_answered": self.load.sent,
            "client_retries": self.load.retries,
            "answers": self.load.answers,
            "unanswered": self.load.unanswered,
            "faults_injected": self.faults,
            "worker_kills": self.worker_kills,
            "database_restarts": self.database_restarts,
            "load_seconds": round(self.load_seconds, 1),
            "settle_seconds": round(self.settle_seconds, 1),
            "outcomes": self.outcomes,
            "verdicts": [asdict(v) for v in self.verdicts],
            "passed": self.passed,
        }


STARTUP_LIMIT_S = 60.0
_WORKER_RUNNING = WORKER_RUNNING.encode()


def _watch_output(process: subprocess.Popen[bytes], running: threading.Event) -> None:
    """Sets ``running`` when the worker prints that it runs; reads on, so its output never
    fills the pipe, until the process ends."""
    output = process.stdout
    if output is None:  # pragma: no cover (started with stdout=PIPE)
        return
    for line in output:
        if _WORKER_RUNNING in line:
            running.set()
    output.close()


class WorkerKiller:
    """Keeps a worker running, and SIGKILLs it at random moments (then starts a new one).

    A moment is drawn once the worker says it runs, not from its start: a Python worker
    takes seconds to import on a busy machine, and one killed while importing every time
    (as the 1-6 s draws did at load 6-9) never claims a payment, so the campaign
    tested the kill of nothing and its payments were left unresolved."""

    def __init__(self, env: dict[str, str], every: tuple[float, float], rng: random.Random):
        self.env, self.every, self.rng = env, every, rng
        self.kills = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.process, self._running = self._start_worker()

    def start(self) -> None:
        self._thread.start()

    def _start_worker(self) -> tuple[subprocess.Popen[bytes], threading.Event]:
        process = start_worker(self.env, stdout=subprocess.PIPE)
        running = threading.Event()
        threading.Thread(target=_watch_output, args=(process, running), daemon=True).start()
        return process, running

    def _run(self) -> None:
        while True:
            self._running.wait(STARTUP_LIMIT_S)  # one that never says so is killed all the same
            if self._stop.wait(self.rng.uniform(*self.every)):
                return
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1
            self.process, self._running = self._start_worker()

    def stop_killing(self) -> None:
        self._stop.set()
        self._thread.join()

    def stop(self) -> None:
        self.stop_killing()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def _prepare(url: URL, sim: Simulator, config: CampaignConfig, sim_url: str) -> Biller:
    await sim.prepare()
    await sim.seed_accounts(config.payments, config.seed, prefix="07")
    engine = create_engine(url, pool_size=1)
    clock = SystemClock()
    async with engine.begin() as conn:
        await channels_service.add_channel(conn, clock, code=CHANNEL, secret=SECRET, actor="chaos")
        biller = await billers_service.add_biller(
            conn, clock, code=BILLER, name="chaos water", category=Category.WATER,
            mode=IntegrationMode.REMOTE, account_rule=r"07\d{8}",
            remote=RemoteSettings(
                url=sim_url, key=KEY, sign_type=SignType.HMAC_SHA256,
                confirm_schedule=config.confirm_schedule,
                resolution_deadline_s=config.resolution_deadline_s,
                connect_timeout_ms=1000, total_timeout_ms=1000, max_refund_attempts=50,
            ),
            actor="chaos",
        )  # fmt: skip
    await engine.dispose()
    return biller


def at_terminals(payments: list[PlannedPayment]) -> list[PlannedPayment]:
    """Every ``AT_OUTLETS``-th payment taken at a terminal (round robin over them all), every
    ``VOIDED``-th of those voided by its outlet once it succeeded."""
    terminals = len(OUTLETS) * TERMINALS_PER_OUTLET
    found = []
    for n, planned in enumerate(payments):
        at = n // AT_OUTLETS
        found.append(
            replace(planned, terminal=at % terminals, void=at % VOIDED == VOIDED - 1)
            if n % AT_OUTLETS == 0
            else planned
        )
    return found


@dataclass(frozen=True)
class FrontLine:
    terminals: list[tuple[str, str, str]]  # (channel, terminal id, secret)
    deposited: dict[int, int]  # outlet id -> fen


async def _front_line(url: URL, payments: list[PlannedPayment]) -> FrontLine:
    """The agent channel, its outlets, terminals and operator; each float funded with 70 %
    of what its terminals will be asked to pay, so some payments meet FLOAT_INSUFFICIENT."""
    wanted = [0] * len(OUTLETS)
    for p in payments:
        if p.terminal is not None:
            wanted[p.terminal // TERMINALS_PER_OUTLET] += p.amount
    engine = create_engine(url, pool_size=1)
    clock = SystemClock()
    terminals: list[tuple[str, str, str]] = []
    deposited: dict[int, int] = {}
    async with engine.begin() as conn:
        await channels_service.add_channel(
            conn, clock, code=AGENT, secret=AGENT_SECRET, kind=ChannelKind.AGENT, actor="chaos"
        )
        for code, amount in zip(OUTLETS, wanted, strict=True):
            outlet = await service.add_outlet(
                conn, clock, channel=AGENT, code=code, name=f"chaos {code}",
                kind=OutletKind.SHOP, region="chaos", low_threshold=0, actor="chaos",
            )  # fmt: skip
            await terminal_admin.add_operator(
                conn, clock, channel=AGENT, outlet=code, code=OPERATOR, name="chaos",
                actor="chaos",
            )  # fmt: skip
            for n in range(TERMINALS_PER_OUTLET):
                terminal, secret = await terminal_admin.add_terminal(
                    conn, clock, channel=AGENT, outlet=code, type=TerminalType.POS_FIXED,
                    label=f"POS {n}", actor="chaos",
                )  # fmt: skip
                terminals.append((AGENT, terminal.id, secret))
            deposited[outlet.id] = max(amount * 7 // 10, 1)
            await deposits.record_deposit(
                conn, clock, channel=AGENT, outlet=code, amount=deposited[outlet.id],
                bank_reference=f"CHAOS-{code}", actor="chaos",
            )  # fmt: skip
    await engine.dispose()
    return FrontLine(terminals, deposited)


async def _bills(sim: Simulator) -> dict[str, list[tuple[str, int]]]:
    t = tables_for(SCHEMA)
    async with sim.engine.connect() as conn:
        rows = await conn.execute(
            select(t.bills.c.account_no, t.bills.c.bill_no, t.bills.c.amount + t.bills.c.late_fee)
            .where(t.bills.c.paid_by.is_(None))
            .order_by(t.bills.c.account_no, t.bills.c.bill_no)
        )
        bills: dict[str, list[tuple[str, int]]] = {}
        for account, bill_no, total in rows:
            bills.setdefault(account, []).append((bill_no, total))
    return bills


async def _settle(
    engine: AsyncEngine, biller_id: int, within: float, say: Callable[[str], Any]
) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        found = await verify.outcomes(engine, biller_id)
        open_ = sum(
            count
            for kind, count in found.items()
            if verify.still_open(kind) and "EXCEPTION" not in kind
        )
        if not open_:
            break
        say(f"  {open_} payments still being resolved …")
        await asyncio.sleep(3)
    return time.monotonic() - started


def run(
    settings: Settings, config: CampaignConfig, say: Callable[[str], Any] = print
) -> CampaignReport:
    url = database_url(settings, database=DATABASE)
    rng = random.Random(config.seed)  # noqa: S311 (a simulation)
    asyncio.run(drop_database(url))
    upgrade(url)
    sim_config = SimConfig(key=KEY, sign_type=SignType.HMAC_SHA256, biller=BILLER, schema=SCHEMA)
    faults = Faults(FaultPlan.parse(config.faults, timeout_delay=3.0), seed=config.seed)
    quiet_dropped_replies()
    with ServerThread(create_app(sim_config, url, faults=faults)) as sim_url:
        return asyncio.run(_campaign(settings, config, url, sim_config, faults, sim_url, rng, say))


async def _campaign(
    settings: Settings,
    config: CampaignConfig,
    url: URL,
    sim_config: SimConfig,
    faults: Faults,
    sim_url: str,
    rng: random.Random,
    say: Callable[[str], Any],
) -> CampaignReport:
    began = SystemClock().now()
    engine = create_engine(url, pool_size=4, pre_ping=True)
    sim = Simulator(engine, sim_config)
    biller = await _prepare(url, sim, config, sim_url)
    payments = at_terminals(plan(await _bills(sim), rng))
    front_line = await _front_line(url, payments)
    env = environment_for(settings, url)
    port = free_port()
    api = start_api(env, port, workers=1)
    killer = WorkerKiller(env, config.kill_every, rng)
    killer.start()
    restarts = 0
    low, high = config.kill_every
    say(
        f"{len(payments):,} payments to {BILLER} with faults {config.faults!r}; "
        f"the worker is SIGKILLed every {low:g}-{high:g} s"
    )
    try:
        started = time.monotonic()
        base_url = f"http://127.0.0.1:{port}"
        progress = LoadReport()
        load = asyncio.create_task(
            run_load(
                base_url,
                CHANNEL,
                SECRET,
                BILLER,
                payments,
                config.concurrency,
                progress,
                front_line.terminals,
            )
        )
        # The crash comes while payments are in flight, once 40 % are answered (the
        # embedded server only: one named by UTILIPAY_DATABASE_URL is not ours to crash).
        while not load.done() and progress.sent < 0.4 * len(payments):
            await asyncio.wait({load}, timeout=0.2)
        if config.restart_database and not settings.database_url and not load.done():
            say("crashing PostgreSQL (pg_ctl restart -m immediate) …")
            await asyncio.to_thread(restart, settings.home, crash=True)
            restarts += 1
        report = await load
        load_seconds = time.monotonic() - started
        say(f"all {report.sent:,} answered in {load_seconds:.0f} s ({report.retries} retries); "
            "letting the worker (still being killed) resolve the rest …")  # fmt: skip
        settle_seconds = await _settle(engine, biller.id, config.settle_timeout_s, say)
    finally:
        killer.stop()
        api.terminate()
        api.wait(timeout=30)
    result = CampaignReport(
        config=config,
        load=report,
        faults={k.value: v for k, v in faults.counts().items()},
        worker_kills=killer.kills,
        database_restarts=restarts,
        load_seconds=load_seconds,
        settle_seconds=settle_seconds,
        outcomes=await verify.outcomes(engine, biller.id),
    )
    days = verify.campaign_days(began, SystemClock().now())
    result.verdicts = [
        await verify.all_final(engine, biller.id),
        await verify.write_offs_match(engine, biller.id, sim),
        await verify.books_balance(engine),
        await verify.statements_match(engine, biller.id, sim, days),
        await verify.floats_match(engine, front_line.deposited),
    ]
    await engine.dispose()
    return result
