"""Resolving an unknown outcome holds no transaction while the utility thinks: claim, call,
record (payments/resolution.py), on a real database and the biller simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import until
from tests.test_remote_payments import ACCOUNT, books_balance, pay, status_of, trancodes
from tests.utility import CODE, Utility, remote_utility
from utilipay.billers.remote import RemoteBiller, RemoteBillers
from utilipay.billers.schemas import Biller
from utilipay.clock import FrozenClock
from utilipay.payments.resolution import resolve_due, resolve_one
from utilipay_tools.billersim.faults import FaultKind
from utilipay_tools.client import ChannelClient

# the test utility's total timeout is 1 s: two calls a step, and the margin
LEASE = timedelta(seconds=2 * 1) + timedelta(seconds=30)


class WorkerKilled(BaseException):
    """What stops a worker between its call and its record, as SIGKILL or a cancellation
    would: no ``except Exception`` catches it and nothing after it runs."""


class KilledAfter(RemoteBillers):
    """A worker that dies the moment the utility has answered a ``trancode`` call."""

    def __init__(self, clock: FrozenClock, trancode: str) -> None:
        super().__init__(clock)
        self.trancode = trancode

    def get(self, biller: Biller) -> RemoteBiller:
        remote = super().get(biller)
        call = remote.call

        async def dying(body: Any) -> Any:
            answer = await call(body)
            if body.trancode == self.trancode:
                raise WorkerKilled(f"killed after the utility answered {self.trancode}")
            return answer

        remote.call = dying  # type: ignore[method-assign]
        return remote


@pytest.fixture
async def utility(
    engine: AsyncEngine, db_url: URL, clock: FrozenClock, hub: Any
) -> AsyncIterator[Utility]:
    async with remote_utility(engine, db_url, clock, hub) as found:
        await found.bill(ACCOUNT, "RB-1", 4200, 50)
        yield found


@pytest.fixture
async def billers(clock: FrozenClock) -> AsyncIterator[RemoteBillers]:
    found = RemoteBillers(clock)
    yield found
    await found.close()


def resolver(engine: AsyncEngine, clock: FrozenClock, hub: Any) -> Callable[..., Any]:
    """One worker's step for a payment, with its own connections to the utility."""

    async def resolve(billers: RemoteBillers, payment_id: str) -> str:
        biller = hub.biller(CODE)
        return await resolve_one(
            engine, clock, billers, biller, payment_id, hub.directory.channel_code
        )

    return resolve


async def unknown_outcome(wechat: ChannelClient, utility: Utility, fault: str) -> str:
    """A payment left PROCESSING by ``fault`` on its charge; the utility answers again."""
    utility.fail_with(fault)
    pending = await pay(wechat)
    assert pending["status"] == "PROCESSING"
    utility.fail_with("")
    return str(pending["id"])


async def test_no_row_lock_is_held_while_the_utility_is_asked(
    wechat: ChannelClient,
    utility: Utility,
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    billers: RemoteBillers,
) -> None:
    pid = await unknown_outcome(wechat, utility, "drop_response=1")
    clock.set((await status_of(engine, pid)).next_check_at)
    utility.fail_with("timeout=1")  # the confirm is answered too late: 1.5 s, the hub waits 1
    step = asyncio.create_task(resolver(engine, clock, hub)(billers, pid))
    await until(lambda: utility.faults.counts()[FaultKind.TIMEOUT] == 1)  # it is being asked
    async with engine.connect() as conn:
        locked = (
            await conn.execute(
                text("SELECT * FROM payments WHERE id = :id FOR UPDATE NOWAIT"), {"id": pid}
            )
        ).one()
        assert not step.done()
        assert locked.next_check_at == clock.now() + LEASE  # claimed: leased, committed
    assert (await step).startswith("confirming: confirm: no answer within 1 s")
    row = await status_of(engine, pid)
    assert (row.status, row.check_attempts) == ("PROCESSING", 2)  # the charge's, this one
    assert row.next_check_at == clock.now() + timedelta(seconds=30)  # the schedule again


async def test_a_worker_killed_after_a_charge_leaves_it_due_after_the_lease(
    wechat: ChannelClient,
    utility: Utility,
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    billers: RemoteBillers,
) -> None:
    pid = await unknown_outcome(wechat, utility, "error=1")  # the charge never arrived
    clock.set((await status_of(engine, pid)).next_check_at)
    dying = KilledAfter(clock, "charge")
    resolve = resolver(engine, clock, hub)
    with pytest.raises(WorkerKilled):
        await resolve(dying, pid)  # confirm: NOTFOUND; the charge sent again, answered
    await dying.close()
    assert await utility.sim.standing_write_offs() == {pid: True}  # it did land
    await _due_only_after_the_lease(engine, clock, hub, billers, pid)
    row = await status_of(engine, pid)
    assert (row.status, row.receipt_no is not None) == ("SUCCEEDED", True)
    assert await utility.sim.standing_write_offs() == {pid: True}  # written off once
    # the dead worker's calls died with it; the retry's confirm found the charge
    assert await trancodes(engine, pid) == ["charge", "confirm"]
    await books_balance(engine)


async def test_a_worker_killed_after_a_refund_leaves_it_due_after_the_lease(
    wechat: ChannelClient,
    utility: Utility,
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    billers: RemoteBillers,
) -> None:
    pid = await unknown_outcome(wechat, utility, "drop_response=1")  # written off, unknown
    clock.set((await status_of(engine, pid)).resolve_by)
    utility.fail_with("error=1")
    resolve = resolver(engine, clock, hub)
    assert await resolve(billers, pid) == "reversing"  # committed before any refund is sent
    utility.fail_with("")
    dying = KilledAfter(clock, "refund")
    with pytest.raises(WorkerKilled):
        await resolve(dying, pid)
    await dying.close()
    assert await utility.sim.standing_write_offs() == {pid: False}  # reversed over there
    await _due_only_after_the_lease(engine, clock, hub, billers, pid)
    row = await status_of(engine, pid)
    assert (row.status, row.failure_code, row.refund_attempts) == ("FAILED", "REVERSED", 0)
    assert await utility.sim.standing_write_offs() == {pid: False}
    assert await trancodes(engine, pid) == ["charge", "confirm", "refund"]
    await books_balance(engine)


async def _due_only_after_the_lease(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, billers: RemoteBillers, pid: str
) -> None:
    """The killed step's claim stands until its lease ends; then one pass finishes it."""
    row = await status_of(engine, pid)
    assert (row.status, row.next_check_at) == ("PROCESSING", clock.now() + LEASE)

    async def one_pass() -> Any:
        directory = hub.directory
        return await resolve_due(
            engine, clock, billers, directory.biller_by_id, directory.channel_code
        )

    clock.advance(LEASE - timedelta(seconds=1))
    assert (await one_pass()).attempted == 0
    clock.advance(timedelta(seconds=1))
    assert (await one_pass()).attempted == 1


async def test_two_resolvers_at_once_ask_the_utility_once(
    wechat: ChannelClient,
    utility: Utility,
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    billers: RemoteBillers,
) -> None:
    pid = await unknown_outcome(wechat, utility, "drop_response=1")
    clock.set((await status_of(engine, pid)).next_check_at)
    utility.fail_with("slow=1")  # each call takes a while: the two overlap
    other = RemoteBillers(clock)  # another worker, its own connections
    resolve = resolver(engine, clock, hub)
    results = await asyncio.gather(resolve(billers, pid), resolve(other, pid))
    await other.close()
    assert sorted(results) == ["skipped", "succeeded"]
    assert utility.faults.counts()[FaultKind.SLOW] == 1  # one call reached the utility
    assert await trancodes(engine, pid) == ["charge", "confirm"]


async def test_a_worker_that_outlived_its_lease_records_only_its_calls(
    wechat: ChannelClient,
    utility: Utility,
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    billers: RemoteBillers,
) -> None:
    pid = await unknown_outcome(wechat, utility, "drop_response=1")
    clock.set((await status_of(engine, pid)).next_check_at)
    utility.fail_with("timeout=1")
    resolve = resolver(engine, clock, hub)
    late = asyncio.create_task(resolve(billers, pid))
    await until(lambda: utility.faults.counts()[FaultKind.TIMEOUT] == 1)
    clock.set((await status_of(engine, pid)).next_check_at)  # its lease has run out
    utility.fail_with("error=1")
    other = RemoteBillers(clock)
    assert (await resolve(other, pid)).startswith("confirming: confirm: 9999")  # took over
    await other.close()
    taken_over = await status_of(engine, pid)
    assert await late == "overtaken"
    row = await status_of(engine, pid)
    assert tuple(row) == tuple(taken_over)  # the late worker changed nothing
    assert (row.check_attempts, row.last_outcome) == (2, "confirm: 9999 busy, try again later")
    assert await trancodes(engine, pid) == ["charge", "confirm", "confirm"]  # both logged
