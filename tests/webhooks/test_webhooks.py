"""Webhooks to channels: signed, retried with backoff and jitter, at least once, logged."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SECRET
from tests.helpers import bill_line, import_bills, killed_mid_call, payment_body, until
from tests.receivers import receiver
from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock
from utilipay.security.signing import canonical, sign
from utilipay.webhooks.service import GIVE_UP_AFTER, LEASE, backoff, deliver_due, http_client
from utilipay.worker.context import WorkerContext
from utilipay_tools.client import ChannelClient


@pytest.fixture
async def worker(engine: AsyncEngine, clock: FrozenClock, hub: Any) -> Any:
    context = WorkerContext(engine=engine, clock=clock, directory=hub.directory)
    yield context
    await context.close_clients()


async def _point_wechat_at(engine: AsyncEngine, clock: FrozenClock, hub: Any, url: str) -> None:
    async with engine.begin() as conn:
        await channels_service.update_channel(conn, clock, "WECHAT", webhook_url=url, actor="t")
    await hub.directory.reload()


async def deliveries(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text("SELECT * FROM webhook_deliveries ORDER BY id")))


async def _pay(engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient) -> dict[str, Any]:
    await import_bills(engine, clock, bill_line("B202610-0001"))
    paid = await wechat.call("POST", "/v1/payments", json=payment_body())
    assert paid.status_code == 201
    body: dict[str, Any] = paid.json()
    return body


async def test_a_final_payment_is_posted_to_the_channel_signed(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient, worker: Any
) -> None:
    with receiver() as hooks:
        await _point_wechat_at(engine, clock, hub, hooks.url)
        paid = await _pay(engine, clock, wechat)
        assert await worker.dispatch_outbox() == 2  # bill.issued (no consumer yet), payment
        assert (await worker.deliver_webhooks()).results == {"delivered": 1}
    (got,) = hooks.received
    assert json.loads(got.body) == {"type": "payment.succeeded", "data": paid}
    headers = got.headers
    assert headers["x-utilipay-channel"] == "UTILIPAY"
    message = canonical(
        "POST", got.path, headers["x-utilipay-timestamp"], headers["x-utilipay-nonce"], got.body
    )
    assert headers["x-utilipay-signature"] == sign(SECRET, message)
    assert int(headers["x-utilipay-timestamp"]) == int(clock.now().timestamp())
    (delivery,) = await deliveries(engine)
    assert (delivery.status, delivery.attempts) == ("DELIVERED", 1)


async def test_failures_are_retried_with_growing_jittered_delays(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient, worker: Any
) -> None:
    with receiver(500, 503, 404) as hooks:
        await _point_wechat_at(engine, clock, hub, hooks.url)
        await _pay(engine, clock, wechat)
        await worker.dispatch_outbox()
        waits = []
        for expected in ("retry", "retry", "retry", "delivered"):
            assert (await worker.deliver_webhooks()).results == {expected: 1}
            assert (await worker.deliver_webhooks()).results == {}  # not due again yet
            (delivery,) = await deliveries(engine)
            if delivery.next_attempt_at is not None:
                waits.append(delivery.next_attempt_at - clock.now())
                clock.set(delivery.next_attempt_at)
    assert [5 / 2 <= w.total_seconds() <= 5 for w in waits[:1]] == [True]
    assert 10 / 2 <= waits[1].total_seconds() <= 10
    assert 20 / 2 <= waits[2].total_seconds() <= 20
    assert len(hooks.received) == 4
    async with engine.connect() as conn:
        log = (
            await conn.execute(
                text("SELECT attempt, status_code FROM webhook_attempts ORDER BY attempt")
            )
        ).all()
    assert [tuple(r) for r in log] == [(1, 500), (2, 503), (3, 404), (4, 200)]


def test_backoff_doubles_to_an_hour_and_never_repeats_in_lockstep() -> None:
    rng = random.Random(7)
    assert [backoff(n, rng).total_seconds() <= 5 * 2 ** (n - 1) for n in range(1, 8)] == [True] * 7
    assert max(backoff(30, rng).total_seconds() for _ in range(100)) <= 3600
    assert len({backoff(5, rng) for _ in range(20)}) == 20


async def test_an_unreachable_channel_is_tried_for_two_days_then_given_up(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient, worker: Any
) -> None:
    await _point_wechat_at(engine, clock, hub, "http://127.0.0.1:9/nobody-listens")
    await _pay(engine, clock, wechat)
    await worker.dispatch_outbox()
    start = clock.now()
    attempts = 0
    while (await deliveries(engine))[0].status == "PENDING":
        assert (await worker.deliver_webhooks()).results in ({"retry": 1}, {"gave up": 1})
        attempts += 1
        pending = (await deliveries(engine))[0]
        if pending.next_attempt_at is not None:
            clock.set(pending.next_attempt_at)
    assert clock.now() - start >= timedelta(hours=24)  # the contract's minimum
    assert clock.now() - start >= GIVE_UP_AFTER - timedelta(hours=1)
    assert (await deliveries(engine))[0].status == "GAVE_UP"
    assert attempts > 40


async def test_dispatching_and_delivering_twice_sends_once(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient, worker: Any
) -> None:
    with receiver() as hooks:
        await _point_wechat_at(engine, clock, hub, hooks.url)
        await _pay(engine, clock, wechat)
        results = await asyncio.gather(worker.dispatch_outbox(), worker.dispatch_outbox())
        assert sum(results) == 2  # the two passes shared the events, none taken twice
        async with engine.begin() as conn:  # as if a crashed worker dispatched it again
            await conn.execute(text("UPDATE outbox_events SET dispatched_at = NULL"))
        await worker.dispatch_outbox()
        outcomes = await asyncio.gather(worker.deliver_webhooks(), worker.deliver_webhooks())
        assert {"delivered": 1} in [o.results for o in outcomes]
    assert len(hooks.received) == 1
    assert len(await deliveries(engine)) == 1


async def test_a_channel_without_a_webhook_url_gets_no_delivery(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, worker: Any
) -> None:
    await _pay(engine, clock, wechat)
    assert await worker.dispatch_outbox() == 2
    assert await deliveries(engine) == []


async def test_no_lock_is_held_while_the_channel_answers_and_a_killed_send_is_retried(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient, worker: Any
) -> None:
    with receiver(delay=1.0) as hooks:
        await _point_wechat_at(engine, clock, hub, hooks.url)
        await _pay(engine, clock, wechat)
        await worker.dispatch_outbox()
        done = await killed_mid_call(
            engine, clock, "webhook_deliveries", LEASE, worker.deliver_webhooks,
            lambda: len(hooks.received) == 1,
        )  # fmt: skip
        assert done.results == {"delivered": 1}
    assert len(hooks.received) == 2  # at least once: the channel dedupes on data.id
    (delivery,) = await deliveries(engine)
    assert (delivery.status, delivery.attempts) == ("DELIVERED", 2)
    async with engine.connect() as conn:
        logged = await conn.execute(text("SELECT attempt, status_code FROM webhook_attempts"))
        assert [tuple(r) for r in logged] == [(2, 200)]  # the dead worker logged nothing


async def test_a_worker_that_outlived_its_lease_records_only_its_attempt(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient, worker: Any
) -> None:
    with receiver(503, delay=1.0) as hooks:
        await _point_wechat_at(engine, clock, hub, hooks.url)
        await _pay(engine, clock, wechat)
        await worker.dispatch_outbox()
        late = asyncio.create_task(worker.deliver_webhooks())
        await until(lambda: len(hooks.received) == 1)
        clock.advance(LEASE)  # its lease runs out while the channel thinks
        other = http_client()  # another worker's
        try:
            taken_over = await deliver_due(engine, clock, other, hub.directory.channel_by_id)
        finally:
            await other.aclose()
        assert taken_over.results == {"delivered": 1}
        assert (await late).results == {"overtaken": 1}  # its 503 decides nothing
    (delivery,) = await deliveries(engine)
    assert (delivery.status, delivery.attempts) == ("DELIVERED", 2)
    async with engine.connect() as conn:
        logged = await conn.execute(
            text("SELECT attempt, status_code FROM webhook_attempts ORDER BY attempt")
        )
        assert [tuple(r) for r in logged] == [(1, 503), (2, 200)]
