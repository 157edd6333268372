"""Outlets, terminals, operators and float deposits for the terminal-payment tests.

Outlets, terminals and operators go in through these small helpers, so a test can make
what the management service refuses (a suspended outlet's terminal, a secret of its
choosing); deposits go through the management service (``outlets.deposits``)."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.outlets.void_fixtures import TERMINAL_SECRET, Outlet, open_outlet
from utilipay.channels.schemas import Channel
from utilipay.clock import Clock, FrozenClock
from utilipay.outlets import deposits
from utilipay.outlets.tables import outlet_operators, terminals
from utilipay.runtime.directory import Directory
from utilipay_tools.client import TerminalClient

_numbers = itertools.count(1)


async def add_outlet(
    conn: AsyncConnection,
    clock: Clock,
    channel: Channel,
    *,
    code: str = "SHOP1",
    kind: str = "shop",
    low_threshold: int = 0,
    status: str = "ACTIVE",
) -> int:
    account = await conn.scalar(
        text(
            "INSERT INTO ledger_accounts (code, kind, channel_id, currency, created_at)"
            " VALUES (:account_code, 'OUTLET_FLOAT', :channel_id, 'CNY', :now) RETURNING id"
        ),
        {
            "account_code": f"OUTLET_FLOAT:{channel.code}.{code}:CNY",
            "channel_id": channel.id,
            "now": clock.now(),
        },
    )
    outlet_id = await conn.scalar(
        text(
            "INSERT INTO outlets (channel_id, code, name, kind, region, status, low_threshold,"
            " owner_name, owner_phone, owner_email, float_account, created_at)"
            " VALUES (:channel_id, :code, '村口小卖部', :kind, '360600', :status, :threshold,"
            " '王五', '13800000000', 'owner@example.com', :account, :now) RETURNING id"
        ),
        {
            "channel_id": channel.id,
            "code": code,
            "kind": kind,
            "status": status,
            "threshold": low_threshold,
            "account": account,
            "now": clock.now(),
        },
    )
    await conn.execute(text("INSERT INTO outlet_floats VALUES (:id, 0, 0)"), {"id": outlet_id})
    return int(outlet_id)


async def add_terminal(
    conn: AsyncConnection,
    clock: Clock,
    outlet_id: int,
    *,
    type_: str = "pos_fixed",
    secret: str = TERMINAL_SECRET,
) -> str:
    terminal_id = f"T{next(_numbers):06d}"
    await conn.execute(
        terminals.insert().values(
            id=terminal_id,
            outlet_id=outlet_id,
            type=type_,
            label=f"terminal {terminal_id}",
            secret=secret,
            status="ACTIVE",
            created_at=clock.now(),
        )
    )
    return terminal_id


async def add_operator(
    conn: AsyncConnection, clock: Clock, outlet_id: int, code: str, status: str = "ACTIVE"
) -> None:
    await conn.execute(
        outlet_operators.insert().values(
            outlet_id=outlet_id,
            code=code,
            name=f"收费员 {code}",
            status=status,
            created_at=clock.now(),
        )
    )


async def deposit(conn: AsyncConnection, clock: Clock, outlet_id: int, amount: int) -> None:
    """A float deposit recorded by an operator, as the management service records it."""
    row = (
        await conn.execute(
            text(
                "SELECT c.code AS channel, o.code AS outlet FROM outlets o"
                " JOIN channels c ON c.id = o.channel_id WHERE o.id = :id"
            ),
            {"id": outlet_id},
        )
    ).one()
    await deposits.record_deposit(
        conn, clock, channel=row.channel, outlet=row.outlet, amount=amount,
        bank_reference=f"BANK{next(_numbers):08d}", actor="test",
    )  # fmt: skip


async def float_of(engine: AsyncEngine, outlet_id: int) -> tuple[int, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT balance, held FROM outlet_floats WHERE outlet_id = :id"),
                {"id": outlet_id},
            )
        ).one()
    return int(row.balance), int(row.held)


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
