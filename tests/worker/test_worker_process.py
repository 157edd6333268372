"""``utilipay worker`` for real: procrastinate runs the passes in a separate process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import _settings
from tests.helpers import bill_line, import_bills, payment_body
from tests.receivers import receiver
from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient
from utilipay_tools.processes import environment_for, start_worker


async def test_the_worker_process_delivers_a_webhook_and_survives_sigkill(
    engine: AsyncEngine, db_url: URL, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    clock.set(datetime.now(UTC))  # the worker runs on the real clock
    env = environment_for(_settings(), db_url)
    with receiver() as hooks:
        async with engine.begin() as conn:
            await channels_service.update_channel(
                conn, clock, "WECHAT", webhook_url=hooks.url, actor="t"
            )
        await hub.directory.reload()
        await import_bills(engine, clock, bill_line("B202610-0001"), bill_line("B2", amount=1))
        # a first worker is killed outright; a second one must still do the work
        first = start_worker(env)
        await asyncio.sleep(3)
        first.kill()
        first.wait()
        assert (await wechat.call("POST", "/v1/payments", json=payment_body())).status_code == 201
        second = start_worker(env)
        try:
            # the channel's webhook, and the payer's receipt through the channel (§10)
            assert await asyncio.to_thread(hooks.wait_for, 2, 30)
            await asyncio.sleep(1)  # room for a duplicate to show up
        finally:
            second.terminate()
            second.wait(timeout=30)
    kinds = sorted(orjson.loads(hook.body)["type"] for hook in hooks.received)
    assert kinds == ["notification", "payment.succeeded"]
