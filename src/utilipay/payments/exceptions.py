"""The exceptions queue: payments whose reversal could not be completed, for a person.

Such a payment stays PROCESSING (the hub never reports FAILED for a payment
that may have been written off) and leaves automatic resolution. Staff find
out from the utility what happened and record it: written off (SUCCEEDED, with
the utility's serial), not written off (FAILED), or retry (back to automatic
reversal). Every resolution names who, when and why, in the queue and in the
audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.payments import outcomes
from utilipay.payments.tables import payment_exceptions, payments


class Resolution(StrEnum):
    WRITTEN_OFF = "WRITTEN_OFF"
    NOT_WRITTEN_OFF = "NOT_WRITTEN_OFF"
    RETRY = "RETRY"


@dataclass(frozen=True, slots=True)
class OpenException:
    id: int
    biller_id: int
    payment_id: str
    order_id: str
    account_no: str
    amount: int
    reason: str
    opened_at: datetime


async def open_exception(conn: AsyncConnection, payment: Any, reason: str, now: datetime) -> None:
    await conn.execute(
        update(payments)
        .where(payments.c.biller_id == payment.biller_id, payments.c.id == payment.id)
        .values(resolution="EXCEPTION", next_check_at=None, last_outcome=reason[:300])
    )
    await conn.execute(
        text(
            "INSERT INTO payment_exceptions (biller_id, payment_id, reason, opened_at)"
            " VALUES (:b, :p, :r, :now) ON CONFLICT DO NOTHING"
        ),
        {"b": payment.biller_id, "p": payment.id, "r": reason[:500], "now": now},
    )


async def list_open(conn: AsyncConnection) -> list[OpenException]:
    rows = await conn.execute(
        select(
            payment_exceptions.c.id,
            payment_exceptions.c.biller_id,
            payment_exceptions.c.payment_id,
            payments.c.order_id,
            payments.c.account_no,
            payments.c.amount,
            payment_exceptions.c.reason,
            payment_exceptions.c.opened_at,
        )
        .join(
            payments,
            (payments.c.biller_id == payment_exceptions.c.biller_id)
            & (payments.c.id == payment_exceptions.c.payment_id),
        )
        .where(payment_exceptions.c.resolved_at.is_(None))
        .order_by(payment_exceptions.c.opened_at, payment_exceptions.c.id)
    )
    return [OpenException(*r) for r in rows]


async def resolve(
    conn: AsyncConnection,
    clock: Clock,
    exception_id: int,
    resolution: Resolution,
    *,
    actor: str,
    reason: str,
    biller_serial: str | None = None,
) -> str:
    """Record what a person found out; returns the payment's new state."""
    if not reason.strip():
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "say why: a reason is required")
    if resolution is Resolution.WRITTEN_OFF and not (biller_serial or "").strip():
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, "a write-off needs the utility's serial (billerserial)"
        )
    found = (
        await conn.execute(
            select(payment_exceptions)
            .where(payment_exceptions.c.id == exception_id)
            .with_for_update()
        )
    ).first()
    if found is None or found.resolved_at is not None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no open exception {exception_id}")
    payment = (
        await conn.execute(
            select(payments)
            .where(payments.c.biller_id == found.biller_id, payments.c.id == found.payment_id)
            .with_for_update()
        )
    ).one()
    now = clock.now()
    note = f"resolved by {actor}: {reason}"
    if resolution is Resolution.WRITTEN_OFF:
        await outcomes.succeed(conn, payment, (biller_serial or "").strip(), now, note)
        state = "SUCCEEDED"
    elif resolution is Resolution.NOT_WRITTEN_OFF:
        await outcomes.fail(conn, payment, "NOT_WRITTEN_OFF", now, note)
        state = "FAILED"
    else:  # back to automatic reversal, with a fresh count of attempts
        await conn.execute(
            update(payments)
            .where(payments.c.biller_id == payment.biller_id, payments.c.id == payment.id)
            .values(resolution="REVERSING", next_check_at=now, refund_attempts=0, last_outcome=note)
        )
        state = "PROCESSING (retrying the reversal)"
    await conn.execute(
        update(payment_exceptions)
        .where(
            payment_exceptions.c.biller_id == found.biller_id, payment_exceptions.c.id == found.id
        )
        .values(resolved_at=now, resolved_by=actor, resolution=resolution, note=reason)
    )
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="exception.resolve",
        object_type="payment",
        object_id=payment.id,
        reason=reason,
        details={"exception": exception_id, "resolution": resolution, "serial": biller_serial},
    )
    return state
