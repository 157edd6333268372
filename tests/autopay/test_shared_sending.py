"""Several worker processes sending the same due debits share them: each debit is asked
of the channel once, taken once, and its bill written off once (issue 15)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.autopay.test_autopay import books_balance
from utilipay.autopay.schedule import schedule_debits
from utilipay.clock import FrozenClock
from utilipay.security.sealing import key_spec
from utilipay.web.server import ServerThread
from utilipay_tools.bench import autopay_send
from utilipay_tools.bench.autopay import CHANNEL_SECRET, ISSUED, seed
from utilipay_tools.channelsim.app import app_for
from utilipay_tools.channelsim.debits import DebitAnswer, DebitRequest
from utilipay_tools.channelsim.simulator import ChannelSim, ChannelSimConfig

DEBITS = 1500
SENDERS = 3


class CountingChannel(ChannelSim):
    """The simulator, counting every debit request it receives, repeats included (its book
    answers a repeat from the record, so the ledger alone would not show one)."""

    def __init__(self, config: ChannelSimConfig, clock: FrozenClock) -> None:
        super().__init__(config, clock)
        self.asked: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def debit(self, request: DebitRequest) -> DebitAnswer:
        with self._lock:
            self.asked[request.debit_id] += 1
        return await super().debit(request)


async def _due(engine: AsyncEngine, debit_url: str) -> datetime:
    """Every seeded bill's debit scheduled; the moment they are all due."""
    await seed(engine, DEBITS, debit_url)
    async with engine.begin() as conn:
        await schedule_debits(conn, ISSUED + timedelta(minutes=5))
        due: datetime = (
            await conn.execute(text("SELECT max(planned_at) FROM debits"))
        ).scalar_one()
    return due


async def test_worker_processes_share_the_due_debits_and_send_none_twice(
    engine: AsyncEngine, db_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UTILIPAY_SECRETS_KEY", key_spec())  # the senders unseal its secret
    clock = FrozenClock(ISSUED)
    channel = CountingChannel(ChannelSimConfig(secret=CHANNEL_SECRET), clock)
    with ServerThread(app_for(channel)) as url:
        due = await _due(engine, f"{url}/debits")
        clock.set(due)
        meter = autopay_send.CpuMeter(os.getpid(), None)
        sent = await asyncio.to_thread(autopay_send.send, db_url, due, 15, SENDERS, meter)
    async with engine.connect() as conn:
        debits = (await conn.execute(text("SELECT id, status FROM debits"))).all()
        paid = (
            await conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT order_id) FROM payments"
                    " WHERE order_id = ANY (:ids) AND status = 'SUCCEEDED'"
                ),
                {"ids": [d.id for d in debits]},
            )
        ).one()
        unpaid = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM bills b JOIN billers r ON r.id = b.biller_id"
                    " WHERE r.code = 'BENCHWATER' AND b.status <> 'PAID'"
                )
            )
        ).scalar_one()
        told = (
            await conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT aggregate_id) FROM outbox_events"
                    " WHERE event_type = 'debit.succeeded'"
                )
            )
        ).one()
    taken = [d.id for d in debits if d.status == "SUCCEEDED"]
    # every debit sent and written off, but the one in fifty over the cap, skipped when scheduled
    assert Counter(d.status for d in debits) == {"SUCCEEDED": DEBITS - DEBITS // 50,
                                                 "SKIPPED": DEBITS // 50}  # fmt: skip
    assert sent.debits == len(taken)
    assert sum(n > 0 for n in sent.by_process) >= 2, sent.by_process  # they shared the work
    assert set(channel.asked) == set(taken)
    assert set(channel.asked.values()) == {1}  # each debit asked of the channel once
    assert channel.taken_twice() == [] and len(channel.ledger()) == len(taken)
    assert tuple(paid) == (len(taken), len(taken))  # one payment for each debit
    assert unpaid == DEBITS - len(taken)  # only the bills over the cap
    assert tuple(told) == (len(taken), len(taken))  # and one debit.succeeded each
    await books_balance(engine)
