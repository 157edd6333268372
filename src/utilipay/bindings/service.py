"""Payer bindings (户号绑定): a payer of a channel remembers a biller account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.lookup import connector_for
from utilipay.billers.schemas import Biller, BillerCode
from utilipay.bindings.schemas import Binding
from utilipay.bindings.tables import bindings
from utilipay.channels.schemas import Channel
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.ids import new_id


@dataclass(frozen=True, slots=True)
class BindResult:
    binding: Binding
    created: bool


def _binding(row: Any, biller_code: str) -> Binding:
    return Binding(row.id, row.payer, biller_code, row.account_no, row.holder, row.created_at)


async def bind(
    conn: AsyncConnection,
    clock: Clock,
    channel: Channel,
    biller: Biller,
    payer: str,
    account_no: str,
) -> BindResult:
    """Bind, checking the account against the rule and the biller; binding again is a no-op."""
    biller.rule.check(biller.code, account_no)
    live = (bindings.c.biller_id == biller.id) & (bindings.c.account_no == account_no)
    live &= (bindings.c.channel_id == channel.id) & (bindings.c.payer == payer)
    live &= bindings.c.deleted_at.is_(None)
    existing = (await conn.execute(select(bindings).where(live))).first()
    if existing is not None:
        return BindResult(_binding(existing, biller.code), created=False)
    account = await connector_for(biller).query(conn, biller, account_no)
    inserted = (
        await conn.execute(
            insert(bindings)
            .values(
                biller_id=biller.id,
                id=new_id("BD"),
                channel_id=channel.id,
                payer=payer,
                account_no=account_no,
                holder=account.holder,
                created_at=clock.now(),
            )
            .on_conflict_do_nothing()
            .returning(bindings)
        )
    ).first()
    if inserted is None:  # a concurrent twin bound it first
        row = (await conn.execute(select(bindings).where(live))).one()
        return BindResult(_binding(row, biller.code), created=False)
    return BindResult(_binding(inserted, biller.code), created=True)


async def list_for_payer(
    conn: AsyncConnection, channel: Channel, payer: str, biller_code: BillerCode
) -> list[Binding]:
    rows = await conn.execute(
        select(bindings)
        .where(
            bindings.c.channel_id == channel.id,
            bindings.c.payer == payer,
            bindings.c.deleted_at.is_(None),
        )
        .order_by(bindings.c.created_at, bindings.c.id)
    )
    return [_binding(r, biller_code(r.biller_id)) for r in rows]


async def unbind(conn: AsyncConnection, clock: Clock, channel: Channel, binding_id: str) -> None:
    row = (
        await conn.execute(
            select(bindings.c.biller_id, bindings.c.channel_id, bindings.c.deleted_at).where(
                bindings.c.id == binding_id
            )
        )
    ).first()
    if row is None or row.deleted_at is not None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no binding {binding_id[:40]}")
    if row.channel_id != channel.id:
        raise DomainError(ErrorCode.FORBIDDEN, "this binding belongs to another channel")
    await conn.execute(
        update(bindings)
        .where(bindings.c.biller_id == row.biller_id, bindings.c.id == binding_id)
        .values(deleted_at=clock.now())
    )
