"""Outlets, terminals, operators and float deposits as rows, for the outlets' tests.

Outlets, terminals and operators go in through these small helpers, so a test can make
what the management service refuses (a suspended outlet's terminal, a secret of its
choosing); deposits go through the management service (``outlets.deposits``)."""

from __future__ import annotations

import itertools

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.channels.schemas import Channel
from utilipay.clock import Clock
from utilipay.outlets import deposits
from utilipay.outlets.tables import outlet_operators, terminals

TERMINAL_SECRET = "terminal-secret-0123456789abcdef"
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
