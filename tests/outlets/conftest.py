"""The outlets' tests' shops: ``shop`` (one terminal, signing over HTTP) and ``void_shop``
(with operators, for the void and shift-close tests); their rows come from ``rows``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.outlets.rows import (
    TERMINAL_SECRET,
    add_operator,
    add_outlet,
    add_terminal,
    deposit,
    float_of,
)
from tests.outlets.void_fixtures import Outlet, open_outlet
from utilipay.channels.schemas import Channel
from utilipay.clock import FrozenClock
from utilipay.runtime.directory import Directory
from utilipay_tools.client import TerminalClient


class Shop:
    """An outlet of WECHAT (as an agent channel) with one terminal, for the tests."""

    def __init__(self, engine: AsyncEngine, clock: FrozenClock, http: httpx.AsyncClient,
                 directory: Directory, channel: Channel) -> None:  # fmt: skip
        self.engine = engine
        self.clock = clock
        self.http = http
        self.directory = directory
        self.channel = channel
        self.outlet_id = 0
        self.terminal_id = ""

    async def open(self, *, kind: str = "shop", type_: str = "pos_fixed", low_threshold: int = 0,
                   code: str = "SHOP1") -> Shop:  # fmt: skip
        async with self.engine.begin() as conn:
            self.outlet_id = await add_outlet(
                conn, self.clock, self.channel, code=code, kind=kind, low_threshold=low_threshold
            )
            self.terminal_id = await add_terminal(conn, self.clock, self.outlet_id, type_=type_)
        await self.directory.reload()
        return self

    async def run(self, sql: str, **values: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(sql), values)
        await self.directory.reload()

    async def deposit(self, amount: int) -> None:
        async with self.engine.begin() as conn:
            await deposit(conn, self.clock, self.outlet_id, amount)

    async def operator(self, code: str, status: str = "ACTIVE") -> None:
        async with self.engine.begin() as conn:
            await add_operator(conn, self.clock, self.outlet_id, code, status)
        await self.directory.reload()

    def client(self, terminal_id: str | None = None) -> TerminalClient:
        return TerminalClient(self.http, self.channel.code, terminal_id or self.terminal_id,
                              TERMINAL_SECRET, self.clock)  # fmt: skip

    async def float(self) -> tuple[int, int]:
        return await float_of(self.engine, self.outlet_id)


@pytest.fixture
async def shop(engine: AsyncEngine, clock: FrozenClock, http: httpx.AsyncClient, hub: Any,
               world: dict[str, object]) -> Shop:  # fmt: skip
    channel = world["wechat"]
    assert isinstance(channel, Channel)
    return await Shop(engine, clock, http, hub.directory, channel).open()


@pytest.fixture
async def void_shop(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, Any], hub: Any
) -> Outlet:
    """The WECHAT channel's shop SHOP1 with operators OP1, OP2 (and OP9, disabled), as the
    void and shift-close tests use it (``void_fixtures``); the hub knows its terminal."""
    wechat = world["wechat"]
    assert isinstance(wechat, Channel)
    outlet = await open_outlet(engine, clock, wechat, "SHOP1")
    await hub.directory.reload()
    return outlet
