"""Auto-pay mandates (自动缴费签约, channel-api.md §8): sign, change, cancel, look up.

A mandate belongs to a payer of one channel and one biller account; at most
one is ACTIVE per biller account across all channels (a unique index). The payer
binds the account first (户号绑定), then signs auto-pay: a mandate is signed only for
an account the payer has bound at the same channel. Only bills issued after it was
signed are debited (``autopay.engine``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.autopay.schemas import (
    DebitStatus,
    FundingSource,
    Mandate,
    MandateChange,
    MandateRequest,
    MandateStatus,
)
from utilipay.autopay.tables import debit_attempts, debits, mandates
from utilipay.billers.schemas import Biller, IntegrationMode
from utilipay.bindings.service import verified_binding
from utilipay.channels.schemas import Channel
from utilipay.clock import Clock, to_shanghai_iso
from utilipay.db.owners import Owner, of_owner
from utilipay.errors import DomainError, ErrorCode
from utilipay.ids import new_id
from utilipay.outbox.service import Event, emit


def _mandate(row: Any) -> Mandate:
    return Mandate(
        id=row.id,
        biller_id=row.biller_id,
        channel_id=row.channel_id,
        payer=row.payer,
        account_no=row.account_no,
        cap=row.cap,
        funding_sources=tuple(FundingSource(**s) for s in row.funding_sources),
        status=MandateStatus(row.status),
        signed_at=row.signed_at,
        cancelled_at=row.cancelled_at,
        topup_amount=row.topup_amount,
        signup_id=row.signup_id,
    )


def check_cap(biller: Biller, cap: int) -> int:
    if not 0 < cap <= biller.mandate_max_cap:
        raise DomainError(
            ErrorCode.AMOUNT_OUT_OF_RANGE,
            f"cap {cap} fen is outside {biller.code}'s range 1..{biller.mandate_max_cap}",
        )
    return cap


def check_topup_amount(amount: int, cap: int) -> int:
    """An automatic top-up is within its mandate's cap."""
    if not 0 < amount <= cap:
        raise DomainError(
            ErrorCode.AMOUNT_OUT_OF_RANGE, f"topup_amount {amount} fen is outside 1..{cap} (cap)"
        )
    return amount


_PREPAID = text("SELECT 1 FROM prepaid_balances WHERE biller_id = :b AND account_no = :a")


async def _check_topup(
    conn: AsyncConnection, biller: Biller, account_no: str, amount: int | None, cap: int
) -> int | None:
    """A top-up amount is for a prepaid account, and within the mandate's cap."""
    if amount is None:
        return None
    check_topup_amount(amount, cap)
    prepaid = await conn.execute(_PREPAID, {"b": biller.id, "a": account_no})
    if prepaid.first() is None:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"account {account_no} of {biller.code} is not prepaid: it has no balance to top up",
        )
    return amount


def _check_sources(sources: list[FundingSource]) -> list[dict[str, str]]:
    ids = [s.id for s in sources]
    if len(set(ids)) != len(ids):
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "funding_sources lists a source twice")
    return [s.model_dump() for s in sources]


def _event(mandate: Mandate, biller: Biller, event_type: str, at: Any) -> Event:
    return Event(
        biller_id=mandate.biller_id,
        event_type=event_type,
        aggregate_id=mandate.id,
        payload={
            "mandate_id": mandate.id,
            "biller": biller.code,
            "channel_id": mandate.channel_id,
            "payer": mandate.payer,
            "account_no": mandate.account_no,
            "cap": mandate.cap,
            "at": to_shanghai_iso(at),
        },
        occurred_at=at,
    )


def require_debit_url(channel: Channel) -> None:
    """A mandate's debits are asked of the channel at its debit URL (channel-api.md §9)."""
    if channel.debit_url is None:
        raise DomainError(
            ErrorCode.FORBIDDEN,
            f"channel {channel.code} has no debit URL: the hub could not ask it for debits",
        )


async def _check_bound(
    conn: AsyncConnection, channel: Channel, biller: Biller, payer: str, account_no: str
) -> None:
    """The payer's verified binding of the account at this channel (§13), held until the
    mandate is in."""
    if await verified_binding(conn, channel, biller, payer, account_no, hold=True) is None:
        raise DomainError(
            ErrorCode.BINDING_REQUIRED,
            f"payer {payer[:40]} has not bound account {account_no} of {biller.code} at "
            f"{channel.code}: bind the account first (POST /v1/bindings), then sign auto-pay",
        )


async def sign(
    conn: AsyncConnection, clock: Clock, channel: Channel, biller: Biller, request: MandateRequest
) -> Mandate:
    """Sign a mandate for an account the biller has confirmed (the caller checks that) and
    the payer has bound at this channel."""
    await _check_bound(conn, channel, biller, request.payer, request.account)
    cap = check_cap(biller, request.cap if request.cap is not None else biller.mandate_default_cap)
    topup = await _check_topup(conn, biller, request.account, request.topup_amount, cap)
    now = clock.now()
    row = (
        await conn.execute(
            insert(mandates)
            .values(
                biller_id=biller.id,
                id=new_id("M"),
                channel_id=channel.id,
                payer=request.payer,
                account_no=request.account,
                cap=cap,
                topup_amount=topup,
                funding_sources=_check_sources(request.funding_sources),
                status=MandateStatus.ACTIVE,
                signup_id=request.signup_id,
                signed_at=now,
                updated_at=now,
                # a remote biller's first poll records the bills due now, never to be debited
                next_poll_at=now if biller.mode is IntegrationMode.REMOTE else None,
            )
            .on_conflict_do_nothing()
            .returning(mandates)
        )
    ).first()
    if row is None:
        raise DomainError(
            ErrorCode.MANDATE_EXISTS,
            f"account {request.account} of {biller.code} already has an active mandate",
        )
    mandate = _mandate(row)
    await emit(conn, [_event(mandate, biller, "mandate.signed", now)])
    return mandate


async def find(
    conn: AsyncConnection, channel: Channel, mandate_id: str, *, lock: bool = False
) -> Mandate:
    query = select(mandates).where(mandates.c.id == mandate_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no mandate {mandate_id[:40]}")
    if row.channel_id != channel.id:
        raise DomainError(ErrorCode.FORBIDDEN, "this mandate belongs to another channel")
    return _mandate(row)


async def by_signup(
    conn: AsyncConnection, channel: Channel, biller: Biller, signup_id: str
) -> Mandate | None:
    """The mandate the channel signed for the payer pages' sign-up request, if it did."""
    row = (
        await conn.execute(
            select(mandates).where(
                mandates.c.biller_id == biller.id,
                mandates.c.channel_id == channel.id,
                mandates.c.signup_id == signup_id,
            )
        )
    ).first()
    return None if row is None else _mandate(row)


async def for_payer(conn: AsyncConnection, channel: Channel, payer: str) -> list[Mandate]:
    rows = await conn.execute(
        select(mandates)
        .where(mandates.c.channel_id == channel.id, mandates.c.payer == payer)
        .order_by(mandates.c.signed_at, mandates.c.id)
    )
    return [_mandate(r) for r in rows]


async def find_any(conn: AsyncConnection, mandate_id: str) -> Mandate:
    """A mandate whatever its channel: for support staff, who act for the payer."""
    row = (await conn.execute(select(mandates).where(mandates.c.id == mandate_id))).first()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no mandate {mandate_id[:40]}")
    return _mandate(row)


async def listed(conn: AsyncConnection, owner: Owner) -> list[Mandate]:
    """The mandates of a payer at any channel and/or of an account, oldest first."""
    query = of_owner(select(mandates), mandates, owner)
    rows = await conn.execute(query.order_by(mandates.c.signed_at, mandates.c.id))
    return [_mandate(r) for r in rows]


async def change(
    conn: AsyncConnection,
    clock: Clock,
    channel: Channel,
    biller: Biller,
    mandate_id: str,
    request: MandateChange,
) -> Mandate:
    """更改优先扣款方式 and/or the cap; the next debit attempt uses the new order."""
    mandate = await find(conn, channel, mandate_id, lock=True)
    if mandate.status is not MandateStatus.ACTIVE:
        raise DomainError(ErrorCode.MANDATE_NOT_ACTIVE, f"mandate {mandate_id} is cancelled")
    values: dict[str, Any] = {"updated_at": clock.now()}
    if request.cap is not None:
        values["cap"] = check_cap(biller, request.cap)
    if request.funding_sources is not None:
        values["funding_sources"] = _check_sources(request.funding_sources)
    if request.topup_amount is not None or "cap" in values:
        values["topup_amount"] = await _check_topup(
            conn, biller, mandate.account_no,
            request.topup_amount if request.topup_amount is not None else mandate.topup_amount,
            values.get("cap", mandate.cap),
        )  # fmt: skip
    row = (
        await conn.execute(
            update(mandates)
            .where(mandates.c.biller_id == mandate.biller_id, mandates.c.id == mandate.id)
            .values(**values)
            .returning(mandates)
        )
    ).one()
    return _mandate(row)


async def cancel(
    conn: AsyncConnection, clock: Clock, channel: Channel, biller: Biller, mandate_id: str
) -> Mandate:
    """解约: debits not yet sent are cancelled; one already sent is still resolved."""
    mandate = await find(conn, channel, mandate_id, lock=True)
    if mandate.status is MandateStatus.CANCELLED:
        return mandate
    now = clock.now()
    row = (
        await conn.execute(
            update(mandates)
            .where(mandates.c.biller_id == mandate.biller_id, mandates.c.id == mandate.id)
            .values(status=MandateStatus.CANCELLED, cancelled_at=now, updated_at=now)
            .returning(mandates)
        )
    ).one()
    await conn.execute(
        update(debits)
        .where(
            debits.c.biller_id == mandate.biller_id,
            debits.c.mandate_id == mandate.id,
            debits.c.status == DebitStatus.SCHEDULED,
            debits.c.pending_source.is_(None),
        )
        .values(
            status=DebitStatus.CANCELLED,
            reason="MANDATE_CANCELLED",
            next_attempt_at=None,
            finished_at=now,
        )
    )
    cancelled = _mandate(row)
    await emit(conn, [_event(cancelled, biller, "mandate.cancelled", now)])
    return cancelled


async def debit_history(conn: AsyncConnection, mandate: Mandate) -> list[dict[str, Any]]:
    rows = (
        await conn.execute(
            select(debits)
            .where(debits.c.biller_id == mandate.biller_id, debits.c.mandate_id == mandate.id)
            .order_by(debits.c.created_at, debits.c.id)
        )
    ).all()
    attempts: dict[str, list[dict[str, Any]]] = {}
    for a in await conn.execute(
        select(debit_attempts)
        .where(
            debit_attempts.c.biller_id == mandate.biller_id,
            debit_attempts.c.debit_id.in_([r.id for r in rows]),
        )
        .order_by(debit_attempts.c.attempt)
    ):
        attempts.setdefault(a.debit_id, []).append(
            {"funding_source": a.funding_source, "kind": a.kind, "result": a.result,
             "at": to_shanghai_iso(a.at)}
        )  # fmt: skip
    return [
        {
            "id": r.id,
            "bill_nos": list(r.bill_nos),
            "amount": r.amount,
            "currency": "CNY",
            "purpose": r.purpose,
            "status": r.status,
            "reason": r.reason,
            "planned_at": to_shanghai_iso(r.planned_at),
            "deadline": to_shanghai_iso(r.deadline),
            "payment_id": r.payment_id,
            "attempts": attempts.get(r.id, []),
        }
        for r in rows
    ]
