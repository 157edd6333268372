"""Resolving remote write-offs whose outcome is unknown (掉单), so none is lost or made twice.

A payment whose charge went unanswered stays PROCESSING. On the biller's
schedule (default 5 s, 30 s, 2 min, 10 min, then every 30 min) the resolver
asks ``confirm`` (销账结果查询):

- SUCCESS → SUCCEEDED; FAILED → FAILED; REVERSED → FAILED (the write-off was undone).
- NOTFOUND before the deadline → the charge is sent again with the same order
  number (the biller's idempotency key), so a charge lost on the way still
  writes the bill off: the payer has paid.
- still unknown when the deadline passes → ``refund`` (冲正). The decision is
  committed before the first refund is sent (write-ahead), and from then on
  the payment only ever goes to FAILED: a refund in flight may still land, so
  a late SUCCESS must not be believed. Only a refund the biller acknowledged
  (REVERSED or NOTFOUND) makes the payment FAILED.
- a refund refused for good, or unanswered ``max_refund_attempts`` times →
  the exceptions queue, for a person (``payments.exceptions``).

A step never holds a transaction, or the payment's row lock, while the biller
thinks (docs/transactions.md); it is claim, call, record, as recon's corrections are:

1. claim: in a short transaction the due payment is locked (``FOR UPDATE SKIP LOCKED``)
   and its ``next_check_at`` pushed out by a lease, the biller's total timeout for each
   call a step may make plus a margin; committed, no other worker takes it meanwhile;
2. the calls (confirm, perhaps the charge again; or the refund), no connection held;
3. record: in a new transaction the payment is locked again and the calls logged; the
   outcome is applied only if ``next_check_at`` still holds this claim's lease (the
   fence). A worker that outlived its lease finds it taken over (or otherwise dealt
   with) and records nothing but its calls.

A worker killed between its calls and their record leaves the payment due again when
its lease ends; the next step asks again, and nothing is made twice: every charge and
refund carries our payment id as its order number (the biller's idempotency key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.billers.calls import log_call
from utilipay.billers.protocol.codes import FINAL_CHARGE_FAILURES, Code
from utilipay.billers.protocol.messages import (
    ChargeAnswer,
    ChargeRequest,
    ConfirmAnswer,
    ConfirmRequest,
    OrderStatus,
    RefundAnswer,
    RefundRequest,
)
from utilipay.billers.remote import (
    Answer,
    BillerUnreachable,
    CallRecord,
    RemoteBiller,
    RemoteBillers,
)
from utilipay.billers.schemas import Biller
from utilipay.clock import Clock
from utilipay.common.passes import Pass, work_through
from utilipay.payments import exceptions, outcomes

# The channel's failure_code for each final answer to a charge.
CHARGE_FAILURES = {
    Code.ACCOUNT_NOT_FOUND: "ACCOUNT_NOT_FOUND",
    Code.NOTHING_DUE: "NO_BILL_DUE",
    Code.AMOUNT_MISMATCH: "AMOUNT_MISMATCH",
    Code.BILL_PAID_BY_OTHER_ORDER: "BILL_ALREADY_PAID",
    Code.ORDER_REVERSED: "REVERSED",
    Code.SIGNATURE_INVALID: "BILLER_REJECTED_SIGNATURE",
    Code.MALFORMED: "BILLER_REJECTED_MESSAGE",
}
ChannelCode = Callable[[int], str]
_NOW = timedelta(0)
REFUND_REASON = "outcome unknown at deadline"
# A claim's lease: the biller's total timeout for each call of a step, and a margin.
CALLS_PER_STEP = 2  # at most: confirm, then the charge again
LEASE_MARGIN = timedelta(seconds=30)

_DUE = text(
    """
    SELECT biller_id, id FROM payments
     WHERE status = 'PROCESSING' AND resolution <> 'EXCEPTION' AND next_check_at <= :now
     ORDER BY next_check_at LIMIT :limit
    """
)
_CLAIM = text(
    """
    WITH due AS (
        SELECT biller_id, id FROM payments
         WHERE biller_id = :biller_id AND id = :id AND status = 'PROCESSING'
           AND resolution <> 'EXCEPTION' AND next_check_at <= :now
           FOR UPDATE SKIP LOCKED
    )
    UPDATE payments p SET next_check_at = :until
      FROM due WHERE p.biller_id = due.biller_id AND p.id = due.id
    RETURNING p.*
    """
)
# The payment, if the claim that leased it until :until is still the current one.
_FENCED = text(
    """
    SELECT * FROM payments
     WHERE biller_id = :biller_id AND id = :id AND status = 'PROCESSING'
       AND next_check_at = :until
       FOR UPDATE
    """
)


async def call(remote: RemoteBiller, request: Any) -> Answer | BillerUnreachable:
    """A protocol call whose failure to answer is a result, not an error."""
    try:
        return await remote.call(request)
    except BillerUnreachable as exc:
        return exc


def charge_request(payment: Any, channel_code: str) -> ChargeRequest:
    return ChargeRequest(
        account=payment.account_no,
        orderno=payment.id,  # the SAME order number on every retry (biller-protocol.md §4)
        amount=payment.amount,
        billnos=tuple(payment.bill_nos),
        channel=channel_code,
        paytime=payment.created_at,
    )


@dataclass
class Step:
    """Recording what one step learnt about one payment, inside its transaction (row locked)."""

    conn: AsyncConnection
    clock: Clock
    remote: RemoteBiller
    payment: Any
    channel_code: str
    outcome: str = field(default="")

    async def log(self, result: Answer | BillerUnreachable) -> None:
        await log_call(self.conn, self.payment.biller_id, result.record, self.payment.id)

    def delay(self) -> timedelta:
        return self.remote.connection.delay(self.payment.check_attempts)

    async def wait(self, resolution: str, note: str, delay: timedelta | None = None) -> str:
        self.outcome = f"{resolution.lower()}: {note}"
        await outcomes.wait(
            self.conn,
            self.payment,
            resolution,
            self.delay() if delay is None else delay,
            self.clock.now(),
            note[:300],
            refund_attempted=resolution == "REVERSING",
        )
        return self.outcome


@dataclass(frozen=True, slots=True)
class Claim:
    """A due payment leased to this worker until ``until`` (see the module's docstring)."""

    payment: Any
    until: datetime
    past_deadline: bool

    @property
    def reversing(self) -> bool:
        return bool(self.payment.resolution == "REVERSING")


@dataclass(frozen=True, slots=True)
class Asked:
    """What the biller answered in one step: the confirm (or the refund) and, when the
    confirm found no order, the charge sent again."""

    first: Answer | BillerUnreachable
    charge: Answer | BillerUnreachable | None = None

    @property
    def records(self) -> list[CallRecord]:
        return [r.record for r in (self.first, self.charge) if r is not None]


async def apply_charge_answer(step: Step, result: Answer | BillerUnreachable) -> str:
    """What a charge's answer (or its absence) means for the payment."""
    if isinstance(result, BillerUnreachable):
        return await step.wait("CONFIRMING", f"charge unanswered: {result.reason}")
    code = result.message.head.code
    body = result.message.body
    if code in {Code.OK, Code.DUPLICATE_ORDER}:
        if isinstance(body, ChargeAnswer):
            await outcomes.succeed(
                step.conn, step.payment, body.billerserial, step.clock.now(), f"charge {code}"
            )
            return "succeeded"
        # 2001 without the original serial: written off; confirm at once to learn it.
        return await step.wait("CONFIRMING", f"charge {code} without a serial", _NOW)
    if code in FINAL_CHARGE_FAILURES:
        failure = CHARGE_FAILURES[code]
        await outcomes.fail(step.conn, step.payment, failure, step.clock.now(), f"charge {code}")
        return f"failed: {failure}"
    return await step.wait("CONFIRMING", f"charge answered {code}: outcome unknown")


def _not_found(result: Answer | BillerUnreachable) -> bool:
    """The biller says it has no such order: the charge never reached it."""
    if not isinstance(result, Answer) or result.message.head.code is not Code.OK:
        return False
    answer = result.message.body
    return isinstance(answer, ConfirmAnswer) and answer.status is OrderStatus.NOTFOUND


async def _ask(remote: RemoteBiller, claim: Claim, channel_code: str) -> Asked:
    """The step's calls; no connection is held while the biller thinks."""
    payment = claim.payment
    if claim.reversing:
        return Asked(await call(remote, RefundRequest(payment.id, payment.amount, REFUND_REASON)))
    confirm = await call(remote, ConfirmRequest(payment.id))
    if _not_found(confirm) and not claim.past_deadline:
        # the charge never arrived: send it again, with the same order number
        return Asked(confirm, await call(remote, charge_request(payment, channel_code)))
    return Asked(confirm)


async def _confirm_or_charge(step: Step, asked: Asked, past_deadline: bool) -> str:
    result = asked.first
    answered = isinstance(result, Answer) and result.message.head.code is Code.OK
    answer = result.message.body if isinstance(result, Answer) else None
    if answered and isinstance(answer, ConfirmAnswer):
        known = await _record_known(step, answer)
        if known is not None:
            return known
        if asked.charge is not None:
            return await apply_charge_answer(step, asked.charge)
    why = result.reason if isinstance(result, BillerUnreachable) else _said(result, answer)
    if past_deadline:
        await outcomes.begin_reversal(step.conn, step.payment, step.clock.now(), f"deadline; {why}")
        return "reversing"
    return await step.wait("CONFIRMING", f"confirm: {why}")


def _said(result: Answer, answer: Any) -> str:
    if isinstance(answer, ConfirmAnswer):
        return str(answer.status)
    return f"{result.message.head.code} {result.message.head.msg}"


async def _record_known(step: Step, answer: ConfirmAnswer) -> str | None:
    """A final outcome the biller reports, recorded; None while it is still open."""
    now = step.clock.now()
    if answer.status is OrderStatus.SUCCESS and answer.billerserial:
        await outcomes.succeed(step.conn, step.payment, answer.billerserial, now, "confirm SUCCESS")
        return "succeeded"
    if answer.status is OrderStatus.REVERSED:
        await outcomes.fail(
            step.conn, step.payment, "REVERSED", now, "confirm REVERSED",
            reversed_serial=answer.billerserial, reversed_write_off=True,
        )  # fmt: skip
        return "failed: REVERSED"
    if answer.status is OrderStatus.FAILED:
        await outcomes.fail(step.conn, step.payment, "BILLER_FAILED", now, "confirm FAILED")
        return "failed: BILLER_FAILED"
    return None


async def _reverse(step: Step, result: Answer | BillerUnreachable) -> str:
    """冲正: only an acknowledged reversal makes the payment FAILED."""
    payment = step.payment
    now = step.clock.now()
    if isinstance(result, BillerUnreachable) or result.message.head.code is Code.BUSY:
        why = result.reason if isinstance(result, BillerUnreachable) else "9999"
        if payment.refund_attempts + 1 >= step.remote.connection.max_refund_attempts:
            await exceptions.open_exception(
                step.conn, payment, f"refund unanswered {payment.refund_attempts + 1} times: {why}",
                now,
            )  # fmt: skip
            return "exception: refund unanswered"
        return await step.wait("REVERSING", f"refund unanswered: {why}")
    answer = result.message.body
    if result.message.head.code is not Code.OK or not isinstance(answer, RefundAnswer):
        reason = f"refund refused: {result.message.head.code} {result.message.head.msg}"
        await exceptions.open_exception(step.conn, payment, reason, now)
        return "exception: refund refused"
    if answer.status is OrderStatus.REVERSED:
        await outcomes.fail(
            step.conn, payment, "REVERSED", now, "refund REVERSED",
            reversed_serial=answer.billerserial, reversed_write_off=True,
        )  # fmt: skip
        return "failed: REVERSED"
    await outcomes.fail(step.conn, payment, "NOT_WRITTEN_OFF", now, "refund NOTFOUND")
    return "failed: NOT_WRITTEN_OFF"


async def resolve_one(
    engine: AsyncEngine,
    clock: Clock,
    billers: RemoteBillers,
    biller: Biller,
    payment_id: str,
    channel_code: ChannelCode,
) -> str:
    """One step for one due payment: claim, call, record (see the module's docstring);
    "skipped" if another worker has it or it is done."""
    remote = billers.get(biller)
    claim = await _claim(engine, clock, remote, biller.id, payment_id)
    if claim is None:
        return "skipped"
    code = channel_code(claim.payment.channel_id)
    asked = await _ask(remote, claim, code)  # the claim is committed: no transaction is open
    async with engine.begin() as conn:
        for record in asked.records:
            await log_call(conn, biller.id, record, payment_id)
        payment = await _fenced(conn, claim)
        if payment is None:
            return "overtaken"  # its lease ran out and another claim (or a person) took over
        return await _apply(Step(conn, clock, remote, payment, code), claim, asked)


async def _claim(
    engine: AsyncEngine, clock: Clock, remote: RemoteBiller, biller_id: int, payment_id: str
) -> Claim | None:
    """Lease the payment for one step, if it is due and no other worker has it."""
    now = clock.now()
    lease = LEASE_MARGIN + timedelta(seconds=remote.connection.total_timeout * CALLS_PER_STEP)
    values = {"biller_id": biller_id, "id": payment_id, "now": now, "until": now + lease}
    async with engine.begin() as conn:
        payment = (await conn.execute(_CLAIM, values)).first()
    if payment is None:
        return None
    return Claim(payment, now + lease, past_deadline=now >= payment.resolve_by)


async def _fenced(conn: AsyncConnection, claim: Claim) -> Any | None:
    """The payment, locked, if ``claim`` is still the current one (its lease unchanged)."""
    payment = claim.payment
    fenced = {"biller_id": payment.biller_id, "id": payment.id, "until": claim.until}
    return (await conn.execute(_FENCED, fenced)).first()


async def _apply(step: Step, claim: Claim, asked: Asked) -> str:
    if claim.reversing:
        return await _reverse(step, asked.first)
    return await _confirm_or_charge(step, asked, claim.past_deadline)


async def resolve_due(
    engine: AsyncEngine,
    clock: Clock,
    billers: RemoteBillers,
    biller_by_id: Callable[[int], Biller | None],
    channel_code: ChannelCode,
    *,
    limit: int = 200,
    concurrency: int = 8,
) -> Pass:
    """One pass over the payments that are due a check."""
    async with engine.connect() as conn:
        due = (await conn.execute(_DUE, {"now": clock.now(), "limit": limit})).all()

    async def one(item: Any) -> str | None:
        biller = biller_by_id(item.biller_id)
        if biller is None or biller.remote is None:
            return None
        return await resolve_one(engine, clock, billers, biller, item.id, channel_code)

    return await work_through(due, one, concurrency=concurrency)
