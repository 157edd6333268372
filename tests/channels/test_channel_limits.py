"""Rate limits per channel (429) and the nonce table's housekeeping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import channel
from utilipay.channels import service as channels_service
from utilipay.channels.ratelimit import RateLimiter
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient


async def test_a_channel_over_its_rate_gets_429(
    wechat: ChannelClient, alipay: ChannelClient, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    now = [100.0]
    hub.rate_limiter = RateLimiter(monotonic=lambda: now[0])
    async with engine.begin() as conn:
        await channels_service.update_channel(conn, clock, "WECHAT", rate_limit=2, actor="test")
    await hub.directory.reload()
    statuses = [(await wechat.call("GET", "/v1/billers")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = await wechat.call("GET", "/v1/billers")
    assert refused.json()["code"] == "RATE_LIMITED"
    assert refused.headers["retry-after"] == "1"
    assert (await alipay.call("GET", "/v1/billers")).status_code == 200  # others are not limited
    now[0] += 0.5  # half a second refills one request
    assert (await wechat.call("GET", "/v1/billers")).status_code == 200
    assert (await wechat.call("GET", "/v1/billers")).status_code == 429
    async with engine.begin() as conn:
        await channels_service.update_channel(conn, clock, "WECHAT", rate_limit=0, actor="test")
    await hub.directory.reload()
    assert (await wechat.call("GET", "/v1/billers")).status_code == 200


async def test_nonces_older_than_ten_minutes_are_purged(
    engine: AsyncEngine, clock: FrozenClock, world: Any
) -> None:
    wechat = channel(world, "wechat")
    async with engine.begin() as conn:
        for age, nonce in ((601, "old-nonce-0123456789"), (599, "recent-nonce-01234567")):
            await conn.execute(
                text("INSERT INTO channel_nonces VALUES (:c, :n, :t)"),
                {"c": wechat.id, "n": nonce, "t": clock.now() - timedelta(seconds=age)},
            )
    async with engine.begin() as conn:
        assert await channels_service.purge_expired_nonces(conn, clock) == 1
    async with engine.connect() as conn:
        left = (await conn.execute(text("SELECT nonce FROM channel_nonces"))).scalars().all()
    assert left == ["recent-nonce-01234567"]
