"""Sending auto-pay debits to channels and writing the bills off (channel-api.md §8-§9).

One step of one due debit, in three parts so no transaction waits on a channel:

1. decide, under the debit's row lock: cancel it (mandate cancelled, bill paid
   by hand first), fail it (window missed), wait (outside 07:00-22:00 or on a
   non-working day), or pick the funding source to ask. The source is recorded
   as pending before anything is sent (write-ahead), with a lease so no other
   worker takes the debit meanwhile.
2. talk to the channel: debit that source, or — when a source is already
   pending, its outcome unknown — ask what became of it. Never a second debit.
3. record the answer: SUCCEEDED → the money is taken (recorded first), then the
   bill is written off through the same payment machinery as a channel's
   payment, with the debit id as the order id; DECLINED or INSUFFICIENT_FUNDS
   → the next source by priority, and when all have declined, the next working
   day while the window lasts; PROCESSING or no answer → ask again later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import httpx
import orjson
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.autopay import channel_debits
from utilipay.autopay.channel_debits import (
    Answered,
    DebitAnswer,
    NotReceived,
    Result,
    Unanswered,
)
from utilipay.autopay.schemas import Debit, DebitStatus, MandateStatus
from utilipay.autopay.tables import debit_attempts, debits, mandates
from utilipay.billers.remote import RemoteBillers
from utilipay.billers.schemas import Biller, CodeOfBiller
from utilipay.calendar.windows import (
    is_open,
    next_open,
    next_round,
    topup_is_open,
    topup_next_open,
    topup_next_round,
)
from utilipay.channels.schemas import Channel
from utilipay.clock import Clock
from utilipay.common.passes import Pass, work_through
from utilipay.errors import DomainError
from utilipay.payments.refused import record_refused
from utilipay.payments.schemas import PaymentCommand, PaymentStatus
from utilipay.payments.service import WriteOffPaths

LEASE = timedelta(seconds=60)  # a step's claim on its debit while it talks to the channel
ASK_FIRST, ASK_LONGEST = timedelta(seconds=30), timedelta(minutes=10)

_DUE = text(
    """
    SELECT biller_id, id FROM debits
     WHERE status IN ('SCHEDULED', 'SENT') AND next_attempt_at <= :now
     ORDER BY next_attempt_at LIMIT :limit
    """
)
# Paid by hand: a hosted bill paid, or a remote bill held, by a payment that is not this debit's.
_PAID_OTHERWISE = text(
    """
    WITH own AS (SELECT id FROM order_payment(:c, :d))
    SELECT EXISTS (SELECT 1 FROM billing_bills WHERE biller_id = :b AND bill_no = ANY (:bills)
                     AND status = 'PAID' AND payment_id IS DISTINCT FROM (SELECT id FROM own))
        OR EXISTS (SELECT 1 FROM claims_held WHERE biller_id = :b AND bill_no = ANY (:bills)
                     AND payment_id IS DISTINCT FROM (SELECT id FROM own))
    """
)
_ANNOUNCE = text(
    """
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT biller_id, :event_type, id, debit_event(d) || CAST(:extra AS jsonb), :now
      FROM debits d WHERE biller_id = :b AND id = :d
    """
)


@dataclass(frozen=True)
class Senders:
    """What a debit step needs besides the database and the clock."""

    http: httpx.AsyncClient
    channel_by_id: Callable[[int], Channel | None]
    biller_by_id: Callable[[int], Biller | None]
    biller_code: CodeOfBiller
    paths: WriteOffPaths
    remote_billers: RemoteBillers


@dataclass(frozen=True, slots=True)
class Hours:
    """When a debit may go: a bill's on working days, a prepaid top-up's on any day."""

    is_open: Callable[[datetime], bool]
    next_open: Callable[[datetime], datetime]
    next_round: Callable[[datetime], datetime]


HOURS = {
    "autopay": Hours(is_open, next_open, next_round),
    "prepaid_topup": Hours(topup_is_open, topup_next_open, topup_next_round),
}
# A top-up is for one low-balance episode: it is moot once the payer topped up by hand.
_TOPPED_UP = text(
    """
    SELECT state = 'NORMAL' OR episode <> :episode FROM prepaid_balances
     WHERE biller_id = :b AND account_no = :a
    """
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What part 2 does: ask ``source`` (pending) or debit it, or write the bill off."""

    kind: Literal["debit", "ask", "write_off"]
    source: str = ""


class Step(StrEnum):
    """What a step did when the debit is not finished (a finished one says its status and
    reason, as ``_finish`` words it); the values are what a pass counts."""

    SKIPPED = "skipped"  # another worker has it, it is done, or it was settled meanwhile
    WAITING = "waiting"
    RESEND = "resend"
    PENDING = "pending"
    TAKEN = "taken"  # the money is taken; the write-off follows
    NEXT_SOURCE = "next source"
    NEXT_WORKING_DAY = "next working day"


# ------------------------------------------------------------ recording


async def _set(conn: AsyncConnection, debit: Debit, **values: Any) -> None:
    await conn.execute(
        update(debits)
        .where(debits.c.biller_id == debit.biller_id, debits.c.id == debit.id)
        .values(**values)
    )


_EVENTS = {DebitStatus.SUCCEEDED: "debit.succeeded", DebitStatus.SKIPPED: "debit.skipped"}


async def _finish(
    conn: AsyncConnection,
    debit: Debit,
    status: DebitStatus,
    reason: str | None,
    now: datetime,
    **event: Any,
) -> str:
    await _set(
        conn,
        debit,
        status=status,
        reason=reason,
        next_attempt_at=None,
        pending_source=None,
        finished_at=now,
        payment_id=event.get("payment_id"),
    )
    if (
        status is not DebitStatus.CANCELLED
    ):  # a cancellation follows the mandate's or the bill's own news
        await conn.execute(
            _ANNOUNCE,
            {
                "b": debit.biller_id,
                "d": debit.id,
                "event_type": _EVENTS.get(status, "debit.failed"),
                "extra": orjson.dumps(event).decode(),
                "now": now,
            },
        )
    return f"{status.lower()}: {reason}" if reason else status.lower()


async def _log(
    conn: AsyncConnection, debit: Debit, source: str, kind: str, result: str, now: datetime
) -> int:
    attempt: int = (
        await conn.execute(
            text(
                "SELECT coalesce(max(attempt), 0) + 1 FROM debit_attempts"
                " WHERE biller_id = :b AND debit_id = :d"
            ),
            {"b": debit.biller_id, "d": debit.id},
        )
    ).scalar_one()
    await conn.execute(
        insert(debit_attempts).values(
            biller_id=debit.biller_id,
            debit_id=debit.id,
            attempt=attempt,
            funding_source=source,
            kind=kind,
            result=result[:200],
            at=now,
        )
    )
    return attempt


# ------------------------------------------------------------ part 1: decide


async def _decide(
    conn: AsyncConnection, clock: Clock, senders: Senders, debit: Debit
) -> Plan | Step | str:
    """The plan for part 2, or what happened (the step is over)."""
    now = clock.now()
    if debit.channel_txn_id is not None:  # taken; the write-off had not been recorded
        await _set(conn, debit, next_attempt_at=now + LEASE)
        return Plan("write_off")
    if debit.pending_source is not None:  # its outcome is not known: ask, never debit again
        await _set(conn, debit, next_attempt_at=now + LEASE)
        return Plan("ask", debit.pending_source)
    mandate = (
        await conn.execute(
            select(mandates).where(
                mandates.c.biller_id == debit.biller_id, mandates.c.id == debit.mandate_id
            )
        )
    ).one()
    stop = await _reason_to_stop(conn, debit, mandate, now)
    if stop is not None:
        return await _finish(conn, debit, *stop, now, cap=mandate.cap)
    wait_until = _wait_until(senders, debit, now)
    if wait_until is not None:
        await _set(conn, debit, next_attempt_at=wait_until)
        return Step.WAITING
    sources = mandate.funding_sources
    source = sources[min(debit.source_index, len(sources) - 1)]["id"]
    await _set(
        conn, debit, status=DebitStatus.SENT, pending_source=source, next_attempt_at=now + LEASE
    )
    return Plan("debit", source)


async def _reason_to_stop(
    conn: AsyncConnection, debit: Debit, mandate: Any, now: datetime
) -> tuple[DebitStatus, str] | None:
    if mandate.status != MandateStatus.ACTIVE:
        return DebitStatus.CANCELLED, "MANDATE_CANCELLED"
    if debit.amount > mandate.cap:  # the payer lowered the cap after it was scheduled
        return DebitStatus.SKIPPED, "OVER_CAP"
    if debit.purpose == "prepaid_topup":
        topped_up = await conn.execute(
            _TOPPED_UP, {"b": debit.biller_id, "a": debit.account_no, "episode": debit.episode}
        )
        if topped_up.scalar_one():
            return DebitStatus.CANCELLED, "TOPPED_UP"
    else:
        paid = await conn.execute(
            _PAID_OTHERWISE,
            {"b": debit.biller_id, "bills": list(debit.bill_nos), "c": debit.channel_id,
             "d": debit.id},
        )  # fmt: skip
        if paid.scalar_one():
            return DebitStatus.CANCELLED, "PAID_BY_HAND"
    if now >= debit.deadline or HOURS[debit.purpose].next_open(now) >= debit.deadline:
        return DebitStatus.FAILED, "WINDOW_MISSED"
    return None


def _wait_until(senders: Senders, debit: Debit, now: datetime) -> datetime | None:
    hours = HOURS[debit.purpose]
    if not hours.is_open(now):  # outside 07:00-22:00, or (for a bill) not a working day
        return hours.next_open(now)
    channel = senders.channel_by_id(debit.channel_id)
    if channel is None or channel.debit_url is None:  # until the window closes
        closes: datetime = debit.deadline
        return min(now + timedelta(hours=1), closes)
    return None


# ------------------------------------------------------------ part 2: talk


def _request(debit: Debit, mandate_id: str, source: str, biller_code: str) -> dict[str, Any]:
    return {
        "debit_id": debit.id,
        "mandate_id": mandate_id,
        "payer": debit.payer,
        "funding_source": source,
        "amount": debit.amount,
        "currency": "CNY",
        "purpose": debit.purpose,
        "biller": biller_code,
        "account": debit.account_no,
        "bill_nos": list(debit.bill_nos),
    }


async def _talk(clock: Clock, senders: Senders, debit: Debit, plan: Plan) -> Result:
    channel = senders.channel_by_id(debit.channel_id)
    if channel is None or channel.debit_url is None:
        return Unanswered("the channel has no debit URL any more")
    if plan.kind == "ask":
        return await channel_debits.ask(senders.http, channel, debit.id, plan.source, clock.now())
    request = _request(debit, debit.mandate_id, plan.source, senders.biller_code(debit.biller_id))
    return await channel_debits.send(senders.http, channel, request, clock.now())


# ------------------------------------------------------------ part 3: record


async def _record(
    conn: AsyncConnection, clock: Clock, debit: Debit, plan: Plan, result: Result
) -> Step | str:
    now = clock.now()
    said = (
        result.status if isinstance(result, DebitAnswer)
        else "NOT_RECEIVED" if isinstance(result, NotReceived)
        else f"UNANSWERED: {result.reason}"
    )  # fmt: skip
    kind = "query" if plan.kind == "ask" else "debit"
    attempt = await _log(conn, debit, plan.source, kind, said, now)
    if isinstance(result, NotReceived):  # it never arrived: send it again, same key
        await _set(conn, debit, pending_source=None, next_attempt_at=now)
        return Step.RESEND
    if isinstance(result, Unanswered) or result.status is Answered.PROCESSING:
        wait = min(ASK_FIRST * 2 ** min(attempt - 1, 8), ASK_LONGEST)
        await _set(conn, debit, next_attempt_at=now + wait)
        return Step.PENDING
    if result.status is Answered.SUCCEEDED:  # the source stays recorded: it is the one that paid
        await _set(conn, debit, channel_txn_id=result.channel_txn_id or "-", next_attempt_at=now)
        return Step.TAKEN
    return await _declined(conn, debit, now)


async def _declined(conn: AsyncConnection, debit: Debit, now: datetime) -> Step | str:
    sources = (
        await conn.execute(
            select(mandates.c.funding_sources).where(
                mandates.c.biller_id == debit.biller_id, mandates.c.id == debit.mandate_id
            )
        )
    ).scalar_one()
    if debit.source_index + 1 < len(sources):  # the next source by priority, at once
        await _set(conn, debit, pending_source=None, source_index=debit.source_index + 1,
                   next_attempt_at=now)  # fmt: skip
        return Step.NEXT_SOURCE
    again = HOURS[debit.purpose].next_round(now)
    if again >= debit.deadline:
        return await _finish(conn, debit, DebitStatus.FAILED, "ALL_SOURCES_FAILED", now)
    await _set(conn, debit, pending_source=None, source_index=0, rounds=debit.rounds + 1,
               next_attempt_at=again)  # fmt: skip
    return Step.NEXT_WORKING_DAY


async def _write_off(
    engine: AsyncEngine, clock: Clock, senders: Senders, debit: Debit, paid_by: str | None
) -> Step | str:
    """The money is taken (from ``paid_by``): write the bill off as a payment whose order id
    is the debit's."""
    biller = senders.biller_by_id(debit.biller_id)
    channel = senders.channel_by_id(debit.channel_id)
    if biller is None or channel is None:
        return Step.WAITING  # the directory will know them after its next reload
    command = PaymentCommand(
        channel=channel,
        nonce=None,
        biller=biller,
        order_id=debit.id,
        account_no=debit.account_no,
        amount=debit.amount,
        bill_nos=tuple(debit.bill_nos) if debit.purpose == "autopay" else None,
        payer=debit.payer,
        purpose="prepaid_topup" if debit.purpose == "prepaid_topup" else "bills",
    )
    try:
        result = await senders.paths[biller.mode].pay(command, senders.biller_code)
    except DomainError as refusal:
        async with engine.begin() as conn:
            payment_id = await record_refused(conn, clock, command, refusal.code)
            return await _finish(conn, debit, DebitStatus.FAILED, "WRITE_OFF_REFUSED", clock.now(),
                                 payment_id=payment_id, funding_source=paid_by)  # fmt: skip
    payment = result.payment
    async with engine.begin() as conn:
        if payment.status is PaymentStatus.FAILED:
            return await _finish(conn, debit, DebitStatus.FAILED, "WRITE_OFF_REFUSED", clock.now(),
                                 payment_id=payment.id, funding_source=paid_by)  # fmt: skip
        return await _finish(conn, debit, DebitStatus.SUCCEEDED, None, clock.now(),
                             payment_id=payment.id, receipt_no=payment.receipt_no,
                             funding_source=paid_by)  # fmt: skip


# ------------------------------------------------------------ a step, a pass


async def _locked(
    conn: AsyncConnection, biller_id: int, debit_id: str, now: datetime
) -> Debit | None:
    row = (
        await conn.execute(
            select(debits)
            .where(
                debits.c.biller_id == biller_id,
                debits.c.id == debit_id,
                debits.c.status.in_((DebitStatus.SCHEDULED, DebitStatus.SENT)),
                debits.c.next_attempt_at <= now,
            )
            .with_for_update(skip_locked=True)
        )
    ).first()
    return None if row is None else Debit.of(row._mapping)


async def step(
    engine: AsyncEngine, clock: Clock, senders: Senders, biller_id: int, debit_id: str
) -> Step | str:
    async with engine.begin() as conn:
        debit = await _locked(conn, biller_id, debit_id, clock.now())
        if debit is None:
            return Step.SKIPPED  # another worker has it, or it is done
        plan = await _decide(conn, clock, senders, debit)
    if not isinstance(plan, Plan):
        return plan
    if plan.kind == "write_off":
        return await _write_off(engine, clock, senders, debit, debit.pending_source)
    result = await _talk(clock, senders, debit, plan)
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(debits)
                .where(debits.c.biller_id == biller_id, debits.c.id == debit_id)
                .with_for_update()
            )
        ).one()
        current = Debit.of(row._mapping)
        if current.pending_source != plan.source:
            return Step.SKIPPED  # settled meanwhile
        outcome = await _record(conn, clock, current, plan, result)
    if outcome is Step.TAKEN:
        return await _write_off(engine, clock, senders, current, plan.source)
    return outcome


async def send_due(
    engine: AsyncEngine, clock: Clock, senders: Senders, *, limit: int = 500, concurrency: int = 16
) -> Pass:
    """One pass over the debits that are due."""
    async with engine.connect() as conn:
        due = (await conn.execute(_DUE, {"now": clock.now(), "limit": limit})).all()

    async def one(item: Any) -> str:
        return await step(engine, clock, senders, item.biller_id, item.id)

    return await work_through(due, one, concurrency=concurrency)
