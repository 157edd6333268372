"""Payer bindings (户号绑定): a payer of a channel remembers a biller account; a verified
one (channel-api.md §13) also lets the payer see its prepaid balance and sign auto-pay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import Biller, CodeOfBiller
from utilipay.bindings.schemas import Binding
from utilipay.bindings.tables import bindings
from utilipay.channels.schemas import Channel
from utilipay.clock import Clock
from utilipay.db.owners import Owner, of_owner
from utilipay.errors import DomainError, ErrorCode
from utilipay.ids import new_id


@dataclass(frozen=True, slots=True)
class BindResult:
    binding: Binding
    created: bool


def binding_of(row: Any, biller_code: str) -> Binding:
    return Binding(
        row.id, row.payer, biller_code, row.account_no, row.holder, row.created_at,
        row.verified_at,
    )  # fmt: skip


def _live(channel: Channel, biller: Biller, payer: str, account_no: str) -> Any:
    return (
        (bindings.c.biller_id == biller.id)
        & (bindings.c.account_no == account_no)
        & (bindings.c.channel_id == channel.id)
        & (bindings.c.payer == payer)
        & bindings.c.deleted_at.is_(None)
    )


async def live_binding(
    conn: AsyncConnection,
    channel: Channel,
    biller: Biller,
    payer: str,
    account_no: str,
    *,
    hold: bool = False,
) -> Binding | None:
    """The payer's binding of this account, if it exists (binding again returns it);
    ``hold``: kept (FOR SHARE) until the transaction ends, so it is not unbound meanwhile."""
    query = select(bindings).where(_live(channel, biller, payer, account_no))
    row = (await conn.execute(query.with_for_update(read=True) if hold else query)).first()
    return binding_of(row, biller.code) if row is not None else None


async def verified_binding(
    conn: AsyncConnection,
    channel: Channel,
    biller: Biller,
    payer: str,
    account_no: str,
    *,
    hold: bool = False,
) -> Binding | None:
    """What a prepaid view, a statement or auto-pay needs (§13): the payer's binding of the
    account at this channel, verified (``hold`` as ``live_binding``). None without a
    binding (each caller keeps its own answer for that: 403, 409 BINDING_REQUIRED); an
    unverified one is refused with 403 VERIFICATION_REQUIRED, whatever the utility's mode."""
    binding = await live_binding(conn, channel, biller, payer, account_no, hold=hold)
    if binding is not None and not binding.verified:
        raise DomainError(
            ErrorCode.VERIFICATION_REQUIRED,
            f"payer's binding of {biller.code} account {account_no} is not verified: bind it "
            "again with a verification (POST /v1/bindings, §13)",
        )
    return binding


async def save_binding(
    conn: AsyncConnection,
    clock: Clock,
    channel: Channel,
    biller: Biller,
    payer: str,
    account_no: str,
    holder: str,
    *,
    verified: bool = False,
) -> BindResult:
    """Bind an account the biller has confirmed; a concurrent twin's binding is returned.
    ``verified``: the payer passed a verification just now, so the binding, new or not, is
    verified from now on."""
    now = clock.now()
    verified_at: datetime | None = now if verified else None
    inserted = (
        await conn.execute(
            insert(bindings)
            .values(
                biller_id=biller.id,
                id=new_id("BD"),
                channel_id=channel.id,
                payer=payer,
                account_no=account_no,
                holder=holder,
                created_at=now,
                verified_at=verified_at,
            )
            .on_conflict_do_nothing()
            .returning(bindings)
        )
    ).first()
    if inserted is None:
        live = _live(channel, biller, payer, account_no)
        query = (
            update(bindings).where(live).values(verified_at=verified_at).returning(bindings)
            if verified
            else select(bindings).where(live)
        )
        row = (await conn.execute(query)).one()
        return BindResult(binding_of(row, biller.code), created=False)
    return BindResult(binding_of(inserted, biller.code), created=True)


async def list_for_payer(
    conn: AsyncConnection, channel: Channel, payer: str, biller_code: CodeOfBiller
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
    return [binding_of(r, biller_code(r.biller_id)) for r in rows]


async def channel_binding(
    conn: AsyncConnection, channel: Channel, binding_id: str, *, hold: bool = False
) -> Row[tuple[object, ...]]:
    """The row of a live binding of this channel (``hold``: locked for a change); 404
    unknown or deleted, 403 another channel's."""
    query = select(bindings).where(bindings.c.id == binding_id)
    row = (await conn.execute(query.with_for_update() if hold else query)).first()
    if row is None or row.deleted_at is not None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no binding {binding_id[:40]}")
    if row.channel_id != channel.id:
        raise DomainError(ErrorCode.FORBIDDEN, "this binding belongs to another channel")
    return row


async def unbind(conn: AsyncConnection, clock: Clock, channel: Channel, binding_id: str) -> None:
    row = await channel_binding(conn, channel, binding_id)
    await conn.execute(
        update(bindings)
        .where(bindings.c.biller_id == row.biller_id, bindings.c.id == binding_id)
        .values(deleted_at=clock.now())
    )


async def live_bindings(
    conn: AsyncConnection, biller_code: CodeOfBiller, owner: Owner
) -> list[tuple[int, Binding]]:
    """(channel id, binding) of the live bindings of a payer at any channel and/or of an
    account, oldest first: what support staff see of them."""
    query = of_owner(select(bindings).where(bindings.c.deleted_at.is_(None)), bindings, owner)
    rows = await conn.execute(query.order_by(bindings.c.created_at, bindings.c.id))
    return [(r.channel_id, binding_of(r, biller_code(r.biller_id))) for r in rows]
