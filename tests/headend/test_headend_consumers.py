"""Prepaid cuts and restores become meter commands: the outbox consumers, then delivery to
the head-end simulator on a real socket.

Accounts are cut by the prepaid engine's own pass (``cut_due``) and topped up through
the channel API, so the events are the ones the engine emits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import _settings
from tests.helpers import (
    install_meter,
    open_customer_account,
    payment_body,
    residential_tariff,
)
from utilipay.clock import FrozenClock
from utilipay.headend.config import configure
from utilipay.headend.consumers import meter_command_consumers
from utilipay.outbox.dispatch import Dispatcher
from utilipay.prepaid import service as prepaid
from utilipay.prepaid.cuts import cut_due
from utilipay.web.server import ServerThread
from utilipay.worker.context import WorkerContext
from utilipay_tools.client import ChannelClient
from utilipay_tools.headendsim.app import app_for
from utilipay_tools.headendsim.simulator import HeadEndSim, HeadEndSimConfig
from utilipay_tools.processes import environment_for, start_worker

SECRET = "head-end-secret-0123456789"
ACCOUNT = "0112345678"
TUESDAY = datetime(2026, 11, 24, 2, tzinfo=UTC)  # 10:00 in Shanghai, a working day


@pytest.fixture
async def sim(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, Any]
) -> AsyncIterator[HeadEndSim]:
    """The BJWATER head-end, served and configured at the hub."""
    simulator = HeadEndSim(HeadEndSimConfig(secret=SECRET), clock)
    with ServerThread(app_for(simulator)) as url:
        async with engine.begin() as conn:
            await configure(conn, clock, "BJWATER", url=url, secret=SECRET, actor="test")
        yield simulator


@pytest.fixture
async def worker(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, sim: HeadEndSim
) -> AsyncIterator[WorkerContext]:
    context = WorkerContext(engine=engine, clock=clock, directory=hub.directory)
    yield context
    await context.close_clients()


async def open_prepaid(
    engine: AsyncEngine, clock: FrozenClock, account: str, meters: dict[str, bool]
) -> None:
    """A hosted account on prepaid with ``meters`` (id → still installed): at zero, in
    ARREARS, and warned as its first day's charge would warn it, a day before now."""
    async with engine.begin() as conn:
        await open_customer_account(conn, "BJWATER", account)
        await residential_tariff(conn, clock, "BJWATER", "BJ_WATER_RES")
        since = clock.now() - timedelta(days=400)
        for meter_id, installed in meters.items():
            removed = None if installed else clock.now() - timedelta(days=30)
            await install_meter(
                conn, "BJWATER", account, meter_id=meter_id, since=since, removed=removed
            )
        await prepaid.enroll(conn, clock, "BJWATER", account, actor="test")
        await conn.execute(
            text(
                "UPDATE prepaid_accounts SET notified = '{ARREARS}', outage_warned_at = :at"
                " WHERE account_no = :a"
            ),
            {"a": account, "at": clock.now() - timedelta(days=1)},
        )


async def cut(engine: AsyncEngine, clock: FrozenClock, at: datetime) -> int:
    """The prepaid engine's cut pass, at ``at`` (past the one-day grace)."""
    clock.set(at)
    async with engine.begin() as conn:
        return await cut_due(conn, at)


async def top_up(wechat: ChannelClient, order_id: str, amount: int = 5000) -> None:
    body = payment_body(order_id, amount=amount, bill_nos=...)
    response = await wechat.call("POST", "/v1/payments", json=body)
    assert response.status_code == 201, response.text


async def commands(engine: AsyncEngine) -> list[tuple[str, str, str, int, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT decision_key, meter_id, action, sequence, status FROM meter_commands"
                " ORDER BY meter_id, sequence"
            )
        )
        return [tuple(r) for r in rows]


async def dispatch(engine: AsyncEngine, clock: FrozenClock) -> int:
    return await Dispatcher(meter_command_consumers()).dispatch_pending(engine, clock)


def history(sim: HeadEndSim, meter: str) -> list[str]:
    return [e.action.value for e in sim.book.meter(meter).history]


def switched(sim: HeadEndSim, meter: str, timeout: float) -> bool:
    """Whether the meter's relay was switched within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not sim.book.meter(meter).history and time.monotonic() < deadline:
        time.sleep(0.1)
    return bool(sim.book.meter(meter).history)


async def test_a_cut_disconnects_the_installed_meters_and_a_top_up_reconnects_them(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, worker: WorkerContext,
    sim: HeadEndSim,
) -> None:  # fmt: skip
    await open_prepaid(engine, clock, ACCOUNT, {"W-1": True, "W-2": True, "W-OLD": False})
    assert await cut(engine, clock, TUESDAY) == 1
    await worker.dispatch_outbox()
    assert await commands(engine) == [
        (f"cut:{ACCOUNT}:1:W-1", "W-1", "disconnect", 1, "PENDING"),
        (f"cut:{ACCOUNT}:1:W-2", "W-2", "disconnect", 1, "PENDING"),
    ]
    assert (await worker.deliver_meter_commands()).results == {"executed": 2}
    assert [sim.book.meter(m).relay.value for m in ("W-1", "W-2")] == ["disconnected"] * 2

    clock.advance(timedelta(hours=2))
    await top_up(wechat, "TOPUP-1")
    await worker.dispatch_outbox()
    assert (await worker.deliver_meter_commands()).results == {"executed": 2}
    assert await commands(engine) == [
        (f"cut:{ACCOUNT}:1:W-1", "W-1", "disconnect", 1, "EXECUTED"),
        (f"restore:{ACCOUNT}:1:W-1", "W-1", "reconnect", 2, "EXECUTED"),
        (f"cut:{ACCOUNT}:1:W-2", "W-2", "disconnect", 1, "EXECUTED"),
        (f"restore:{ACCOUNT}:1:W-2", "W-2", "reconnect", 2, "EXECUTED"),
    ]
    assert history(sim, "W-1") == history(sim, "W-2") == ["disconnect", "reconnect"]
    assert history(sim, "W-OLD") == []  # removed: never switched
    async with engine.connect() as conn:
        kinds = await conn.execute(
            text(
                "SELECT event_type, count(*) FROM outbox_events WHERE event_type LIKE 'meter.%'"
                " GROUP BY 1 ORDER BY 1"
            )
        )
        assert [tuple(k) for k in kinds] == [("meter.disconnected", 2), ("meter.reconnected", 2)]


async def test_dispatching_an_event_again_finds_the_same_commands(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, sim: HeadEndSim
) -> None:
    await open_prepaid(engine, clock, ACCOUNT, {"W-1": True})
    await cut(engine, clock, TUESDAY)
    assert await dispatch(engine, clock) == 1
    first = await commands(engine)
    async with engine.begin() as conn:  # as if the dispatch had not been recorded
        await conn.execute(text("UPDATE outbox_events SET dispatched_at = NULL"))
    assert await dispatch(engine, clock) == 1
    assert await commands(engine) == first
    async with engine.connect() as conn:
        ids = (await conn.execute(text("SELECT count(DISTINCT id) FROM meter_commands"))).scalar()
    assert ids == 1


async def test_a_cut_read_after_its_restore_disconnects_nothing(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, sim: HeadEndSim
) -> None:
    await open_prepaid(engine, clock, ACCOUNT, {"W-1": True})
    await cut(engine, clock, TUESDAY)
    await top_up(wechat, "TOPUP-1")  # before the worker saw the cut
    assert await dispatch(engine, clock) >= 2
    assert await commands(engine) == [
        (f"restore:{ACCOUNT}:1:W-1", "W-1", "reconnect", 1, "PENDING")
    ]


async def test_a_restore_read_after_a_newer_cut_reconnects_nothing(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, sim: HeadEndSim
) -> None:
    await open_prepaid(engine, clock, ACCOUNT, {"W-1": True})
    await cut(engine, clock, TUESDAY)
    await top_up(wechat, "TOPUP-1", amount=1)
    async with engine.begin() as conn:  # the next day's accrual takes the fen: ARREARS again
        await conn.execute(
            text("UPDATE prepaid_accounts SET balance = 0, state = 'ARREARS', state_since = :t"),
            {"t": clock.now()},
        )
    assert await cut(engine, clock, TUESDAY + timedelta(days=2)) == 1
    await dispatch(engine, clock)  # cut 1, restore 1 and cut 2, all read now
    assert await commands(engine) == [(f"cut:{ACCOUNT}:2:W-1", "W-1", "disconnect", 1, "PENDING")]


async def test_out_of_order_events_by_concurrent_workers_leave_the_meter_as_decided(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, worker: WorkerContext,
    sim: HeadEndSim,
) -> None:  # fmt: skip
    """The restore is dispatched before the cut (two workers, each with its batch, on its
    own connection): the cut, read second, finds the account restored and does nothing."""
    await open_prepaid(engine, clock, ACCOUNT, {"W-1": True})
    await cut(engine, clock, TUESDAY)
    await top_up(wechat, "TOPUP-1")
    async with engine.connect() as conn:
        events = (
            await conn.execute(
                text(
                    "SELECT biller_id, id, event_type, aggregate_id, payload, occurred_at"
                    " FROM outbox_events WHERE event_type IN ('prepaid.cut', 'prepaid.restored')"
                    " ORDER BY id"
                )
            )
        ).all()
    consumers = meter_command_consumers()

    async def consume(event: Any) -> None:
        async with engine.begin() as conn:
            for consumer in consumers[event.event_type]:
                await consumer(conn, event, clock.now())

    restored, cut_event = events[1], events[0]
    await consume(restored)
    await asyncio.gather(consume(cut_event), consume(restored))
    assert await commands(engine) == [
        (f"restore:{ACCOUNT}:1:W-1", "W-1", "reconnect", 1, "PENDING")
    ]
    await worker.deliver_meter_commands()
    assert sim.book.meter("W-1").relay.value == "connected"


async def test_many_cuts_dispatched_by_concurrent_workers_make_one_command_each(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, sim: HeadEndSim
) -> None:
    accounts = [f"01{n:08d}" for n in range(12)]
    for account in accounts:
        await open_prepaid(engine, clock, account, {f"W-{account}-a": True, f"W-{account}-b": True})
    assert await cut(engine, clock, TUESDAY) == 12
    dispatcher = Dispatcher(meter_command_consumers())

    async def drain() -> int:
        total = 0
        while handed := await dispatcher.dispatch_pending(engine, clock, limit=2):
            total += handed
        return total

    handed = await asyncio.gather(*(drain() for _ in range(4)))
    assert sum(handed) == 12
    found = await commands(engine)
    assert len(found) == 24 and {c[2] for c in found} == {"disconnect"}


async def test_a_biller_without_a_head_end_gets_no_commands_and_nothing_stalls(
    engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await open_prepaid(engine, clock, ACCOUNT, {"W-1": True})
    await cut(engine, clock, TUESDAY)
    assert await dispatch(engine, clock) == 1
    assert await commands(engine) == []


async def test_an_unusable_event_is_skipped_not_raised(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, sim: HeadEndSim
) -> None:
    await open_prepaid(engine, clock, ACCOUNT, {"W-1": True})
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO outbox_events (biller_id, event_type, aggregate_id, payload,"
                " occurred_at) SELECT id, 'prepaid.cut', :a, CAST(:p AS jsonb), :now FROM billers"
            ),
            {"a": ACCOUNT, "p": '{"account_no": "0112345678"}', "now": clock.now()},
        )
    assert await dispatch(engine, clock) == 1
    assert await commands(engine) == []


async def test_the_worker_process_cuts_the_meter(
    engine: AsyncEngine, db_url: URL, clock: FrozenClock, world: dict[str, Any]
) -> None:
    """``utilipay worker`` for real: it dispatches the cut and delivers the disconnect
    (signed on the real clock, as the head-end checks it)."""
    real = HeadEndSim(HeadEndSimConfig(secret=SECRET))
    with ServerThread(app_for(real)) as url:
        async with engine.begin() as conn:
            await configure(conn, clock, "BJWATER", url=url, secret=SECRET, actor="test")
        await open_prepaid(engine, clock, ACCOUNT, {"W-1": True})
        await cut(engine, clock, TUESDAY)
        worker = start_worker(environment_for(_settings(), db_url))
        try:
            assert await asyncio.to_thread(switched, real, "W-1", 30)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert history(real, "W-1") == ["disconnect"]
    assert [c[4] for c in await commands(engine)] == ["EXECUTED"]
