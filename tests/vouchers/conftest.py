"""A water utility's voucher batch, its PINs kept by the test as the issue file would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import FrozenClock
from utilipay.vouchers import service
from utilipay.vouchers.issue import IssueOrder, issue_batch
from utilipay.vouchers.redeem import Redemptions
from utilipay.vouchers.service import Selection

EXPIRES = date(2027, 12, 31)


@dataclass
class Batch:
    id: int
    face: int
    pins: dict[str, str]  # serial -> PIN

    def pin(self, n: int) -> str:
        return list(self.pins.values())[n]


async def issue(engine: AsyncEngine, clock: FrozenClock, count: int, face: int) -> Batch:
    lines: list[tuple[str, str]] = []
    async with engine.begin() as conn:
        order = IssueOrder("BJWATER", count, face, EXPIRES)
        done = await issue_batch(conn, clock, order, sink=lines.extend, actor="test")
    return Batch(done.id, face, dict(lines))


async def activate(engine: AsyncEngine, clock: FrozenClock, batch: Batch) -> None:
    async with engine.begin() as conn:
        await service.activate(conn, clock, Selection(batch=batch.id), outlet=None, actor="t")


@pytest.fixture
async def sold(engine: AsyncEngine, clock: FrozenClock, world: object) -> Batch:
    """Ten 100-yuan vouchers of BJWATER, sold by the utility itself."""
    batch = await issue(engine, clock, 10, 10000)
    await activate(engine, clock, batch)
    return batch


async def scalar(engine: AsyncEngine, sql: str, **params: object) -> object:
    async with engine.connect() as conn:
        return await conn.scalar(text(sql), params)


def recording(redemptions: Redemptions) -> list[int]:
    """The sizes of the batches ``redemptions`` sends from now on, as they go."""
    sizes: list[int] = []
    call = redemptions._call

    async def recording_call(items: list[Any]) -> list[Any]:
        sizes.append(len(items))
        return await call(items)

    redemptions._call = recording_call  # type: ignore[method-assign]
    return sizes
