"""The payer pages' own rows: sessions (kept as the hash of their cookie), pay orders and
sign-up requests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import RowMapping, Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.h5.tables import payer_orders, payer_sessions, payer_signups


@dataclass(frozen=True, slots=True)
class Session:
    channel_code: str
    payer: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Order:
    """What the pages asked the channel to take: fixed when made, whatever is due later."""

    id: str
    channel_code: str
    payer: str
    binding_id: str
    biller_code: str
    account_no: str
    bill_nos: tuple[str, ...]
    amount: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Signup:
    """An auto-pay (``autopay``: ``cap``) or smart-payment (``smart``: ``reminder`` and
    ``topup_amount``) sign-up the pages asked the channel to authorise; amounts in fen."""

    id: str
    channel_code: str
    payer: str
    binding_id: str
    kind: Literal["autopay", "smart"]
    biller_code: str
    account_no: str
    cap: int | None
    reminder: int | None
    topup_amount: int | None
    created_at: datetime


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def open_session(conn: AsyncConnection, token: str, session: Session, now: datetime) -> None:
    # Ended sessions go as new ones open: no pass of the worker needed for a small table.
    await conn.execute(delete(payer_sessions).where(payer_sessions.c.expires_at < now))
    await conn.execute(
        insert(payer_sessions).values(
            token_hash=token_hash(token),
            channel_code=session.channel_code,
            payer=session.payer,
            csrf_token=session.csrf_token,
            created_at=now,
            expires_at=session.expires_at,
        )
    )


async def live_session(conn: AsyncConnection, token: str, now: datetime) -> Session | None:
    row = (
        await conn.execute(
            select(payer_sessions).where(
                payer_sessions.c.token_hash == token_hash(token), payer_sessions.c.expires_at > now
            )
        )
    ).first()
    if row is None:
        return None
    return Session(row.channel_code, row.payer, row.csrf_token, row.expires_at)


async def _payers_row(
    conn: AsyncConnection, table: Table, channel_code: str, payer: str, row_id: str
) -> RowMapping | None:
    """A row of ``table`` (an order, a sign-up) by its id, only if it is the payer's at
    this channel."""
    c = table.c
    query = select(table).where(c.id == row_id, c.channel_code == channel_code, c.payer == payer)
    return (await conn.execute(query)).mappings().first()


async def add_order(conn: AsyncConnection, order: Order) -> None:
    await conn.execute(
        insert(payer_orders).values(
            id=order.id,
            channel_code=order.channel_code,
            payer=order.payer,
            binding_id=order.binding_id,
            biller_code=order.biller_code,
            account_no=order.account_no,
            bill_nos=list(order.bill_nos),
            amount=order.amount,
            created_at=order.created_at,
        )
    )


async def payers_order(
    conn: AsyncConnection, channel_code: str, payer: str, order_id: str
) -> Order | None:
    """The order if it is this payer's at this channel: another's is as if it did not exist."""
    row = await _payers_row(conn, payer_orders, channel_code, payer, order_id)
    if row is None:
        return None
    return Order(**{**row, "bill_nos": tuple(row["bill_nos"])})


async def add_signup(conn: AsyncConnection, signup: Signup) -> None:
    await conn.execute(
        insert(payer_signups).values(**{f: getattr(signup, f) for f in Signup.__slots__})
    )


async def payers_signup(
    conn: AsyncConnection, channel_code: str, payer: str, signup_id: str
) -> Signup | None:
    """The sign-up if it is this payer's at this channel: another's is as if it did not exist."""
    row = await _payers_row(conn, payer_signups, channel_code, payer, signup_id)
    return None if row is None else Signup(**row)
