"""The runs people look through: newest first, of a business day and of a source (a run of
every channel and utility is of each)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import channel, water
from tests.recon.test_recon_run import D, at, payment, run, statement
from utilipay.clock import FrozenClock
from utilipay.recon import service
from utilipay.recon.classify import Class


async def test_runs_by_day_and_source(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    b, wx = water(world).id, channel(world, "wechat").id
    async with engine.begin() as conn:
        await payment(conn, b, wx, "W-OK", 100, finished=at(D, "09:00"))
        await statement(conn, "channel", "WECHAT", D, [("W-OK", 100, "PAID", at(D, "09:00"))])
        await statement(conn, "channel", "ALIPAY", D, [])
    wechat = (await run(engine, clock, channel="WECHAT")).id
    alipay = (await run(engine, clock, channel="ALIPAY")).id
    everyone = (await run(engine, clock)).id
    async with engine.connect() as conn:
        listed = await service.runs(conn, day=D)
        of_wechat = await service.runs(conn, source="WECHAT")
        next_day = await service.runs(conn, day=D + timedelta(days=1))
    assert [r["id"] for r in listed] == [everyone, alipay, wechat]
    assert [r["id"] for r in of_wechat] == [everyone, wechat]
    assert next_day == []
    matched: dict[str, int] = {c.value: int(c is Class.MATCHED) for c in Class}
    assert listed[-1]["counts"] == matched
