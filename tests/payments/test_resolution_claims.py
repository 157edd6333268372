"""Resolving an unknown outcome holds no transaction while the utility thinks: claim, call,
record (payments/resolution.py), on a real database and the biller simulator."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import others_in_a_transaction, until
from tests.payments.test_remote_payments import books_balance, pay, status_of, trancodes
from tests.utility import CODE, Utility
from utilipay.billers.remote import Answer, RemoteBiller, RemoteBillers
from utilipay.billers.schemas import Biller
from utilipay.clock import FrozenClock
from utilipay.payments.resolution import resolve_due, resolve_one
from utilipay_tools.client import ChannelClient

# the test utility's total timeout is 1 s: two calls a step, and the margin
LEASE = timedelta(seconds=2 * 1) + timedelta(seconds=30)


class WorkerKilled(BaseException):
    """What stops a worker between its call and its record, as SIGKILL or a cancellation
    would: no ``except Exception`` catches it and nothing after it runs."""


Call = Callable[[Any], Awaitable[Answer]]


class Intercepted(RemoteBillers, ABC):
    """A worker's connections to the utility, every call of theirs made through ``around``."""

    def get(self, biller: Biller) -> RemoteBiller:
        remote = super().get(biller)
        call = remote.call

        async def intercepted(body: Any) -> Answer:
            return await self.around(call, body)

        remote.call = intercepted  # type: ignore[method-assign]
        return remote

    @abstractmethod
    async def around(self, call: Call, body: Any) -> Answer: ...


class KilledAfter(Intercepted):
    """A worker that dies the moment the utility has answered a ``trancode`` call."""

    def __init__(self, clock: FrozenClock, trancode: str) -> None:
        super().__init__(clock)
        self.trancode = trancode

    async def around(self, call: Call, body: Any) -> Answer:
        answer = await call(body)
        if body.trancode == self.trancode:
            raise WorkerKilled(f"killed after the utility answered {self.trancode}")
        return answer


class Held(Intercepted):
    """A worker whose calls the utility answers only when the test says so: as far as the
    step can tell, the utility is still thinking (``holding`` is set) until ``released`` is."""

    def __init__(self, clock: FrozenClock) -> None:
        super().__init__(clock)
        self.holding = asyncio.Event()
        self.released = asyncio.Event()

    async def around(self, call: Call, body: Any) -> Answer:
        answer = await call(body)
        self.holding.set()
        await self.released.wait()
        return answer


@pytest.fixture
async def billers(clock: FrozenClock) -> AsyncIterator[RemoteBillers]:
    found = RemoteBillers(clock)
    yield found
    await found.close()


@pytest.fixture
async def held(clock: FrozenClock) -> AsyncIterator[Held]:
    found = Held(clock)
    yield found
    found.released.set()  # a test that failed midway leaves no step waiting
    await found.close()


Resolve = Callable[[RemoteBillers, str], Awaitable[str]]


@pytest.fixture
def resolve(engine: AsyncEngine, clock: FrozenClock, hub: Any) -> Resolve:
    """One worker's step for a payment, through that worker's ``RemoteBillers``."""

    async def step(billers: RemoteBillers, payment_id: str) -> str:
        channel_code = hub.directory.channel_code
        return await resolve_one(engine, clock, billers, hub.biller(CODE), payment_id, channel_code)

    return step


async def unknown_outcome(wechat: ChannelClient, utility: Utility, fault: str) -> str:
    """A payment left PROCESSING by ``fault`` on its charge; the utility answers again."""
    utility.fail_with(fault)
    pending = await pay(wechat)
    assert pending["status"] == "PROCESSING"
    utility.fail_with("")
    return str(pending["id"])


@pytest.fixture
async def lost_reply(
    wechat: ChannelClient, utility: Utility, engine: AsyncEngine, clock: FrozenClock
) -> str:
    """A payment written off at the utility whose reply was lost, due its first check."""
    pid = await unknown_outcome(wechat, utility, "drop_response=1")
    clock.set((await status_of(engine, pid)).next_check_at)
    return pid


async def test_no_transaction_or_row_lock_is_held_while_the_utility_answers(
    lost_reply: str,
    utility: Utility,
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    resolve: Resolve,
    held: Held,
    billers: RemoteBillers,
) -> None:
    step = asyncio.ensure_future(resolve(held, lost_reply))
    await until(held.holding.is_set)  # the confirm is with the utility, which thinks
    async with engine.connect() as conn:
        locked = (
            await conn.execute(
                text("SELECT * FROM payments WHERE id = :id FOR UPDATE NOWAIT"),
                {"id": lost_reply},
            )
        ).one()
        assert await others_in_a_transaction(conn) == []
    assert not step.done()
    assert locked.next_check_at == clock.now() + LEASE  # claimed: leased, committed
    step.cancel()  # the worker dies before it learns the answer
    with pytest.raises(asyncio.CancelledError):
        await step
    await _due_only_after_the_lease(engine, clock, hub, billers, lost_reply)
    row = await status_of(engine, lost_reply)
    assert (row.status, row.receipt_no is not None) == ("SUCCEEDED", True)
    assert await trancodes(engine, lost_reply) == ["charge", "confirm"]  # the dead one's died


async def test_a_worker_killed_after_a_charge_leaves_it_due_after_the_lease(
    wechat: ChannelClient,
    utility: Utility,
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    resolve: Resolve,
    billers: RemoteBillers,
) -> None:
    pid = await unknown_outcome(wechat, utility, "error=1")  # the charge never arrived
    clock.set((await status_of(engine, pid)).next_check_at)
    await _killed_after("charge", resolve, clock, pid)  # confirm NOTFOUND; charged again
    assert await utility.sim.standing_write_offs() == {pid: True}  # it did land
    await _due_only_after_the_lease(engine, clock, hub, billers, pid)
    row = await status_of(engine, pid)
    assert (row.status, row.receipt_no is not None) == ("SUCCEEDED", True)
    assert await utility.sim.standing_write_offs() == {pid: True}  # written off once
    # the dead worker's calls died with it; the retry's confirm found the charge
    assert await trancodes(engine, pid) == ["charge", "confirm"]
    await books_balance(engine)


async def test_a_worker_killed_after_a_refund_leaves_it_due_after_the_lease(
    lost_reply: str,
    utility: Utility,
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    resolve: Resolve,
    billers: RemoteBillers,
) -> None:
    clock.set((await status_of(engine, lost_reply)).resolve_by)
    utility.fail_with("error=1")
    assert await resolve(billers, lost_reply) == "reversing"  # committed before any refund
    utility.fail_with("")
    await _killed_after("refund", resolve, clock, lost_reply)
    assert await utility.sim.standing_write_offs() == {lost_reply: False}  # reversed there
    await _due_only_after_the_lease(engine, clock, hub, billers, lost_reply)
    row = await status_of(engine, lost_reply)
    assert (row.status, row.failure_code, row.refund_attempts) == ("FAILED", "REVERSED", 0)
    assert await utility.sim.standing_write_offs() == {lost_reply: False}
    assert await trancodes(engine, lost_reply) == ["charge", "confirm", "refund"]
    await books_balance(engine)


async def _killed_after(trancode: str, resolve: Resolve, clock: FrozenClock, pid: str) -> None:
    """A step by a worker that dies once the utility has answered its ``trancode`` call."""
    dying = KilledAfter(clock, trancode)
    try:
        with pytest.raises(WorkerKilled):
            await resolve(dying, pid)
    finally:
        await dying.close()


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


async def test_a_claim_keeps_other_workers_off_while_the_utility_answers(
    lost_reply: str,
    engine: AsyncEngine,
    resolve: Resolve,
    held: Held,
    billers: RemoteBillers,
) -> None:
    first = asyncio.ensure_future(resolve(held, lost_reply))
    await until(held.holding.is_set)
    assert await resolve(billers, lost_reply) == "skipped"  # leased, though nothing is locked
    held.released.set()
    assert await first == "succeeded"
    assert await trancodes(engine, lost_reply) == ["charge", "confirm"]  # asked once


async def test_a_worker_that_outlived_its_lease_records_nothing_over_the_newer_claim(
    lost_reply: str,
    utility: Utility,
    engine: AsyncEngine,
    clock: FrozenClock,
    resolve: Resolve,
    held: Held,
    billers: RemoteBillers,
) -> None:
    late = asyncio.ensure_future(resolve(held, lost_reply))
    await until(held.holding.is_set)  # the utility has said SUCCESS; the worker has not heard
    clock.set((await status_of(engine, lost_reply)).next_check_at)  # its lease has run out
    utility.fail_with("error=1")
    taking_over = await resolve(billers, lost_reply)
    assert taking_over == "confirming: confirm: 9999 busy, try again later"
    taken_over = await status_of(engine, lost_reply)
    assert taken_over.next_check_at == clock.now() + timedelta(seconds=30)  # the schedule
    held.released.set()
    assert await late == "overtaken"
    row = await status_of(engine, lost_reply)
    assert tuple(row) == tuple(taken_over)  # its SUCCESS changed nothing: the claim is not its
    assert (row.status, row.check_attempts) == ("PROCESSING", 2)
    assert await trancodes(engine, lost_reply) == ["charge", "confirm", "confirm"]  # both
