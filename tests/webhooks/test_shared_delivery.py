"""Two workers' passes over the same due webhooks share them: each delivery is posted
once, by one of them, and recorded once (issue 15: the senders' shape)."""

from __future__ import annotations

import json
from collections import Counter
from functools import partial
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.receivers import receiver
from tests.shared_passes import assert_recorded_once, assert_shared, beside_a_locker
from tests.webhooks.test_webhooks import _point_wechat_at
from utilipay.clock import FrozenClock
from utilipay.webhooks.service import deliver_due, enqueue, http_client

DELIVERIES = 240


async def _enqueue(engine: AsyncEngine, clock: FrozenClock) -> None:
    async with engine.begin() as conn:
        wechat = (await conn.execute(text("SELECT id FROM channels WHERE code = 'WECHAT'"))).one()
        for n in range(DELIVERIES):
            data = {"id": f"P{n:04d}"}
            await enqueue(conn, wechat.id, "payment.succeeded", data["id"], data, clock.now())


async def test_two_passes_share_the_due_webhooks_and_post_none_twice(
    engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    with receiver(delay=0.01) as hooks:
        await _point_wechat_at(engine, clock, hub, hooks.url)
        await _enqueue(engine, clock)
        one, other = http_client(), http_client()
        passes = await beside_a_locker(
            engine,
            "webhook_deliveries",
            [partial(deliver_due, engine, clock, http, hub.directory.channel_by_id, batch=40)
             for http in (one, other)],
        )  # fmt: skip
        last = await deliver_due(engine, clock, one, hub.directory.channel_by_id)
        for http in (one, other):
            await http.aclose()
    posted = Counter(json.loads(r.body)["data"]["id"] for r in hooks.received)
    assert len(posted) == DELIVERIES and set(posted.values()) == {1}
    assert_shared(passes, last, "delivered", DELIVERIES)
    await assert_recorded_once(
        engine, "webhook_deliveries", "webhook_attempts", "DELIVERED", DELIVERIES
    )
