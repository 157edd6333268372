"""Voiding a terminal payment the same day (冲正 at the terminal, channel-api.md §11).

Who may: only the outlet that took the payment, by one of its ACTIVE operators, only a
SUCCEEDED bill payment, only on the business day (Asia/Shanghai) it was written off, and
only before a reconciliation run has matched that day for its channel. Anything else is
409 ``VOID_NOT_ALLOWED`` (an operator who is not the outlet's: 403 ``FORBIDDEN``) and
writes nothing. A repeat of a void already done or pending answers its state (a terminal
retrying a lost answer is not refused).

- Hosted utility: one transaction (``void_outcomes.voided``): the bills are due again,
  VOIDED, the PAYMENT_VOID entry, the float given back, ``payment.voided``.
- Remote utility: the biller protocol's ``refund`` with our payment id as its order
  number (the utility's idempotency key), claim, call, record as the resolver does
  (``resolution.py``), no transaction held across the call:
  1. write ahead: VOID_PENDING (resolution VOIDING), its next check leased past the call;
  2. the refund, no connection held;
  3. record, if the lease still holds: REVERSED or NOTFOUND (the utility now holds the
     order reversed either way) → VOIDED as above, without bills (the hub holds none; the
     claims are released); a definite refusal → SUCCEEDED again, 409 with the utility's
     reason; no answer or 9999 → still VOID_PENDING (202), for ``resolve_due_voids``,
     which sends the same refund again on the utility's schedule until it answers. Past the
     utility's resolution deadline, once ``max_refund_attempts`` went unanswered, it goes to
     the exceptions queue (kind VOID) for a person: never guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.audit import service as audit
from utilipay.billers.calls import log_call
from utilipay.billers.protocol.codes import Code
from utilipay.billers.protocol.messages import OrderStatus, RefundAnswer, RefundRequest
from utilipay.billers.remote import Answer, BillerUnreachable, RemoteBiller, RemoteBillers
from utilipay.billers.schemas import Biller, IntegrationMode
from utilipay.clock import Clock, business_date
from utilipay.common.passes import Pass, work_through
from utilipay.errors import DomainError, ErrorCode
from utilipay.outlets import voiding
from utilipay.payments import exceptions, void_outcomes
from utilipay.payments.resolution import LEASE_MARGIN, call
from utilipay.payments.schemas import PaymentKey, PaymentStatus, StoredPayment

REFUND_REASON = "voided at the outlet"
# the utility holds the order reversed either way (NOTFOUND: never written off over there)
_UNDONE = {OrderStatus.REVERSED, OrderStatus.NOTFOUND}
BillerById = Callable[[int], Biller | None]

_LOCKED = text("SELECT * FROM payments WHERE id = :id FOR UPDATE")
_RECONCILED = text(
    """
    SELECT EXISTS (
        SELECT 1 FROM recon_reconciled_days r
         WHERE r.business_date = :day
           AND (r.channel_code IS NULL
                OR r.channel_code = (SELECT code FROM channels_directory WHERE id = :channel_id))
           AND (r.biller_code IS NULL OR r.biller_code = :biller_code))
    """
)
_FENCED = text(
    """
    SELECT * FROM payments
     WHERE biller_id = :biller_id AND id = :id AND status = 'VOID_PENDING'
       AND resolution = 'VOIDING' AND next_check_at = :until
       FOR UPDATE
    """
)
_CLAIM = text(
    """
    WITH due AS (
        SELECT biller_id, id FROM payments
         WHERE biller_id = :biller_id AND id = :id AND status = 'VOID_PENDING'
           AND resolution = 'VOIDING' AND next_check_at <= :now
           FOR UPDATE SKIP LOCKED
    )
    UPDATE payments p SET next_check_at = :until
      FROM due WHERE p.biller_id = due.biller_id AND p.id = due.id
    RETURNING p.*
    """
)
_DUE = text(
    """
    SELECT biller_id, id FROM payments
     WHERE status = 'VOID_PENDING' AND resolution = 'VOIDING' AND next_check_at <= :now
     ORDER BY next_check_at LIMIT :limit
    """
)


@dataclass(frozen=True, slots=True)
class VoidRequest:
    outlet_id: int  # the terminal's outlet
    payment_id: str
    operator_code: str
    reason: str


class VoidDue(PaymentKey, Protocol):
    """A pending void's row, as its refund's next step reads it."""

    @property
    def refund_attempts(self) -> int: ...
    @property
    def resolve_by(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class VoidResult:
    payment: StoredPayment

    @property
    def pending(self) -> bool:
        """A remote utility has not answered yet: 202, a ``payment.voided`` webhook follows."""
        return self.payment.status is PaymentStatus.VOID_PENDING


def _not_allowed(detail: str, **extra: object) -> DomainError:
    return DomainError(ErrorCode.VOID_NOT_ALLOWED, detail, **extra)


async def void(
    engine: AsyncEngine,
    clock: Clock,
    billers: RemoteBillers,
    biller_by_id: BillerById,
    request: VoidRequest,
) -> VoidResult:
    """Void a terminal payment (see the module's docstring); each step its own transaction."""
    reason = request.reason.strip()
    if not reason:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "say why: a reason is required")
    async with engine.begin() as conn:
        payment, taken = await _allowed(conn, clock, biller_by_id, request)
        if payment.status is not PaymentStatus.SUCCEEDED:  # a repeat: its state
            return VoidResult(payment)
        biller = _biller(biller_by_id, payment.biller_id)
        now = clock.now()
        await voiding.record_void(conn, taken, request.operator_code, reason, now)
        await _audit(conn, clock, request, payment, reason)
        if biller.mode is IntegrationMode.HOSTED:
            note = f"voided by {request.operator_code}"
            await void_outcomes.voided(conn, payment, now, note, hosted=True)
            return VoidResult(await _reread(conn, payment))
        remote = billers.get(biller)
        until = now + _lease(remote)
        note = f"void asked by {request.operator_code}"
        deadline = now + remote.connection.resolution_deadline
        await void_outcomes.pending(conn, payment, until, deadline, note)
    answer = await call(remote, RefundRequest(payment.id, payment.amount, REFUND_REASON))
    async with engine.begin() as conn:
        outcome = await _record(conn, clock, remote, payment, until, answer)
        final = await _reread(conn, payment)
    if outcome.startswith("refused"):
        raise _not_allowed(f"the utility refused the void: {outcome.removeprefix('refused: ')}")
    return VoidResult(final)


async def _allowed(
    conn: AsyncConnection, clock: Clock, biller_by_id: BillerById, request: VoidRequest
) -> tuple[StoredPayment, voiding.TerminalPayment]:
    """The payment, locked, and the outlet's record of it, if this outlet's operator may void
    it (or is repeating a void)."""
    row = (await conn.execute(_LOCKED, {"id": request.payment_id})).first()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such payment")
    payment = StoredPayment.of(row._mapping)
    taken = await voiding.terminal_payment(conn, payment.biller_id, payment.id)
    if taken is None or taken.outlet_id != request.outlet_id:
        raise _not_allowed("only the outlet that took a payment may void it")
    if not await voiding.is_active_operator(conn, request.outlet_id, request.operator_code):
        raise DomainError(
            ErrorCode.FORBIDDEN, f"{request.operator_code!r} is no active operator of this outlet"
        )
    if payment.status in {PaymentStatus.VOIDED, PaymentStatus.VOID_PENDING}:
        return payment, taken
    if payment.status is not PaymentStatus.SUCCEEDED or payment.purpose != "bills":
        raise _not_allowed(f"payment {payment.id} is {payment.status} ({payment.purpose})")
    day = business_date(payment.finished_at or payment.created_at)
    if business_date(clock.now()) != day:
        raise _not_allowed(f"payment {payment.id} was taken on {day}: void only that day")
    biller_code = _biller(biller_by_id, payment.biller_id).code
    reconciled = {"day": day, "channel_id": payment.channel_id, "biller_code": biller_code}
    if await conn.scalar(_RECONCILED, reconciled):
        raise _not_allowed(f"{day} is reconciled: a payment of it can no longer be voided")
    return payment, taken


def _biller(biller_by_id: BillerById, biller_id: int) -> Biller:
    biller = biller_by_id(biller_id)
    if biller is None:
        raise RuntimeError(f"biller {biller_id} of a payment is not in the directory")
    return biller


async def _audit(
    conn: AsyncConnection, clock: Clock, request: VoidRequest, payment: StoredPayment, reason: str
) -> None:
    await audit.record(
        conn, clock, actor=f"outlet:{request.outlet_id}/{request.operator_code}",
        action="payment.void", object_type="payment", object_id=payment.id, reason=reason,
        details={"amount": payment.amount, "biller_id": payment.biller_id},
        before={"status": payment.status},
    )  # fmt: skip


async def _reread(conn: AsyncConnection, payment: PaymentKey) -> StoredPayment:
    row = (await conn.execute(_LOCKED, {"id": payment.id})).one()
    return StoredPayment.of(row._mapping)


def _lease(remote: RemoteBiller) -> timedelta:
    """Long enough for the refund's call: nobody else sends one for this payment meanwhile."""
    return LEASE_MARGIN + timedelta(seconds=remote.connection.total_timeout)


async def _record(
    conn: AsyncConnection,
    clock: Clock,
    remote: RemoteBiller,
    payment: PaymentKey,
    until: datetime,
    answer: Answer | BillerUnreachable,
) -> str:
    """What the refund's answer means, if this step's lease still holds (else "overtaken")."""
    await log_call(conn, payment.biller_id, answer.record, payment.id)
    fenced = {"biller_id": payment.biller_id, "id": payment.id, "until": until}
    current = (await conn.execute(_FENCED, fenced)).first()
    if current is None:
        return "overtaken"
    now = clock.now()
    if isinstance(answer, BillerUnreachable) or answer.message.head.code is Code.BUSY:
        why = answer.reason if isinstance(answer, BillerUnreachable) else "9999"
        return await _unanswered(conn, remote, current, now, why)
    body = answer.message.body
    ok = answer.message.head.code is Code.OK
    if ok and isinstance(body, RefundAnswer) and body.status in _UNDONE:
        await void_outcomes.voided(conn, current, now, f"refund {body.status}", hosted=False)
        return "voided"
    refusal = f"{answer.message.head.code} {answer.message.head.msg}".strip()
    await void_outcomes.stands(conn, current, now, refusal)
    return f"refused: {refusal}"


async def _unanswered(
    conn: AsyncConnection, remote: RemoteBiller, payment: VoidDue, now: datetime, why: str
) -> str:
    attempts = payment.refund_attempts + 1
    # a person once the deadline has passed and the refund went unanswered as many times as a
    # reversal's may (after a person's RETRY: as many again)
    if now >= payment.resolve_by and attempts >= remote.connection.max_refund_attempts:
        reason = f"void: refund unanswered {attempts} times: {why}"
        await exceptions.open_exception(conn, payment, reason, now, kind=exceptions.Kind.VOID)
        return "exception: refund unanswered"
    await void_outcomes.wait(conn, payment, remote.connection.delay(attempts), now, why)
    return "pending"


async def resolve_void(
    engine: AsyncEngine, clock: Clock, billers: RemoteBillers, biller: Biller, payment_id: str
) -> str:
    """One step for one pending void: claim, refund again, record; "skipped" if another
    worker has it or it is done."""
    remote = billers.get(biller)
    now = clock.now()
    until = now + _lease(remote)
    values = {"biller_id": biller.id, "id": payment_id, "now": now, "until": until}
    async with engine.begin() as conn:
        payment = (await conn.execute(_CLAIM, values)).first()
    if payment is None:
        return "skipped"
    answer = await call(remote, RefundRequest(payment.id, payment.amount, REFUND_REASON))
    async with engine.begin() as conn:
        return await _record(conn, clock, remote, payment, until, answer)


async def resolve_due_voids(
    engine: AsyncEngine,
    clock: Clock,
    billers: RemoteBillers,
    biller_by_id: BillerById,
    *,
    limit: int = 200,
    concurrency: int = 8,
) -> Pass:
    """One pass over the voids whose refund is due again."""
    async with engine.connect() as conn:
        due = (await conn.execute(_DUE, {"now": clock.now(), "limit": limit})).all()

    async def one(item: PaymentKey) -> str | None:
        biller = biller_by_id(item.biller_id)
        if biller is None or biller.remote is None:
            return None
        return await resolve_void(engine, clock, billers, biller, item.id)

    return await work_through(due, one, concurrency=concurrency)
