"""The sending half of ``utilipay bench autopay``: debits sent, taken and written off by
one worker process or several, against the channel simulator, with the CPU each side spent.

Each sender is a process of its own (spawned), running the engine's send passes as the
worker does, for a number of seconds; it measures its own CPU time. The simulator's and
PostgreSQL's CPU time over the same interval come from ``/proc`` (psutil): the machine is
shared, so CPU per debit says more than a rate.

The baseline, in the same run against the same simulator, is the bare request: one
process POSTing signed debit requests for fresh ids through the same client, at the same
concurrency, with no database at all. Its rate is the most a sending process could do
with this client and simulator; the sender's CPU per debit over the bare request's says
what the database work of a debit adds to its HTTP.
"""

from __future__ import annotations

import asyncio
import itertools
import resource
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from typing import Any

import psutil
from sqlalchemy.engine import URL

from utilipay.autopay import channel_debits
from utilipay.autopay.sending import send_due
from utilipay.clock import FrozenClock
from utilipay.common import outgoing
from utilipay.worker.context import WorkerContext

CONCURRENCY = outgoing.POOL  # the bare requests in flight: as many as the engine's pass


@dataclass(frozen=True)
class Sent:
    """What ``processes`` senders did together (``done``: what a pass counts)."""

    processes: int
    seconds: float  # wall time, until the last sender stopped
    done: dict[str, int]
    by_process: list[int]  # the debits each sender took and wrote off
    sender_cpu: float  # CPU seconds of the senders together
    simulator_cpu: float
    postgres_cpu: float | None  # None: not the embedded server, not measured

    @property
    def debits(self) -> int:
        return self.done.get("succeeded", 0)

    def as_json(self) -> dict[str, Any]:
        return {
            "processes": self.processes,
            "seconds": round(self.seconds, 1),
            "done": self.done,
            "by_process": self.by_process,
            "debits_sent_and_written_off_per_second": round(self.debits / self.seconds),
            "sender_cpu_ms_per_debit": self._per_debit(self.sender_cpu),
            "simulator_cpu_ms_per_debit": self._per_debit(self.simulator_cpu),
            "postgres_cpu_ms_per_debit": self._per_debit(self.postgres_cpu),
            "debits_per_sender_cpu_second": round(self.debits / max(self.sender_cpu, 1e-9)),
        }

    def _per_debit(self, cpu: float | None) -> float | None:
        """Milliseconds of ``cpu`` a debit; None when nothing was sent or measured."""
        if cpu is None or not self.debits:
            return None
        return round(1000 * cpu / self.debits, 3)


@dataclass(frozen=True)
class Bare:
    """The baseline: signed debit requests and their answers, nothing else."""

    requests: int
    seconds: float
    sender_cpu: float
    simulator_cpu: float

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 1),
            "requests_per_second": round(self.requests / self.seconds),
            "sender_cpu_ms_per_request": round(1000 * self.sender_cpu / self.requests, 3),
            "simulator_cpu_ms_per_request": round(1000 * self.simulator_cpu / self.requests, 3),
        }


class CpuMeter:
    """The CPU time the simulator and the PostgreSQL server (its postmaster and backends)
    spent between two readings."""

    def __init__(self, simulator_pid: int, postmaster_pid: int | None) -> None:
        self._simulator = psutil.Process(simulator_pid)
        self._postmaster = psutil.Process(postmaster_pid) if postmaster_pid else None

    def read(self) -> tuple[float, float | None]:
        return _cpu(self._simulator), self._postgres()

    def _postgres(self) -> float | None:
        if self._postmaster is None:
            return None
        # a backend that has ended counts in its parent's children times once reaped
        times = self._postmaster.cpu_times()
        total = _cpu(self._postmaster) + float(times.children_user + times.children_system)
        for child in self._postmaster.children():
            try:
                total += _cpu(child)
            except psutil.Error:  # a backend that ended meanwhile
                continue
        return total


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def send(url: URL, now: datetime, seconds: float, processes: int, meter: CpuMeter) -> Sent:
    """``processes`` senders working the same due debits for about ``seconds``."""
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        before = meter.read()
        runs = list(pool.map(_send_in_process, [(url, now, seconds)] * processes))
        after = meter.read()
    done: Counter[str] = Counter()
    for _, outcomes, _ in runs:
        done.update(outcomes)
    return Sent(
        processes=processes,
        seconds=max(elapsed for elapsed, _, _ in runs),
        done=dict(done),
        by_process=[outcomes.get("succeeded", 0) for _, outcomes, _ in runs],
        sender_cpu=sum(cpu for _, _, cpu in runs),
        simulator_cpu=after[0] - before[0],
        postgres_cpu=(after[1] - before[1]) if after[1] is not None and before[1] else None,
    )


def _send_in_process(job: tuple[URL, datetime, float]) -> tuple[float, dict[str, int], float]:
    return asyncio.run(_send_for(*job))


async def _send_for(url: URL, now: datetime, seconds: float) -> tuple[float, dict[str, int], float]:
    """Send passes, as the worker runs them, for about ``seconds``: the time they took,
    what they did, and this process's CPU time meanwhile."""
    context = WorkerContext.from_url(url, FrozenClock(now))
    await context.start()
    outcomes: Counter[str] = Counter()
    started, cpu = time.perf_counter(), _own_cpu()
    try:
        while time.perf_counter() - started < seconds:
            done = await send_due(context.engine, context.clock, context.autopay.senders)
            outcomes.update(done.results)
    finally:
        elapsed, cpu = time.perf_counter() - started, _own_cpu() - cpu
        await context.stop()
    return elapsed, dict(outcomes), cpu


def bare(url: URL, now: datetime, channel_id: int, seconds: float, meter: CpuMeter) -> Bare:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        before = meter.read()
        requests, elapsed, cpu = pool.submit(_bare_in_process, url, now, channel_id,
                                             seconds).result()  # fmt: skip
        after = meter.read()
    return Bare(requests, elapsed, cpu, after[0] - before[0])


def _bare_in_process(
    url: URL, now: datetime, channel_id: int, seconds: float
) -> tuple[int, float, float]:
    return asyncio.run(_bare(url, now, channel_id, seconds))


async def _bare(
    url: URL, now: datetime, channel_id: int, seconds: float
) -> tuple[int, float, float]:
    context = WorkerContext.from_url(url, FrozenClock(now))
    await context.start()
    channel = context.directory.channel_by_id(channel_id)
    if channel is None:
        raise RuntimeError("the bench's channel is not in the directory")
    numbers = itertools.count(1)
    started, cpu = time.perf_counter(), _own_cpu()

    async def requester() -> int:
        sent = 0
        while time.perf_counter() - started < seconds:
            n = next(numbers)
            request = {"debit_id": f"BARE{n:012d}", "mandate_id": "M-bare", "payer": "bare",
                       "funding_source": "card-1", "amount": 1000, "currency": "CNY",
                       "purpose": "autopay", "biller": "BENCHWATER", "account": f"{n:010d}",
                       "bill_nos": [f"BARE{n}"]}  # fmt: skip
            answer = await channel_debits.send(context.debit_http, channel, request, now)
            if not isinstance(answer, channel_debits.DebitAnswer):
                raise RuntimeError(f"the simulator did not take a bare request: {answer}")
            sent += 1
        return sent

    try:
        requests = sum(await asyncio.gather(*(requester() for _ in range(CONCURRENCY))))
    finally:
        elapsed, cpu = time.perf_counter() - started, _own_cpu() - cpu
        await context.stop()
    return requests, elapsed, cpu
