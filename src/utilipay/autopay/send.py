"""The rules of sending an auto-pay debit and writing its bill off (channel-api.md §8-§9).

One step of one due debit, in three parts so no transaction waits on a channel
(``autopay/sending.py`` works the due debits through them a batch at a time; the rules
here say what changes, ``debit_writes.Writes`` writes it for the batch):

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

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.autopay import channel_debits
from utilipay.autopay.channel_debits import (
    Answered,
    DebitAnswer,
    NotReceived,
    Result,
    Unanswered,
)
from utilipay.autopay.debit_writes import Writes
from utilipay.autopay.schemas import Debit, DebitStatus, MandateStatus
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
from utilipay.common.outgoing_aiohttp import PooledClient
from utilipay.errors import DomainError
from utilipay.payments.refused import record_refused
from utilipay.payments.schemas import Payment, PaymentCommand, PaymentStatus
from utilipay.payments.service import WriteOffPaths

LEASE = timedelta(seconds=60)  # a step's claim on its debit while it talks to the channel
ASK_FIRST, ASK_LONGEST = timedelta(seconds=30), timedelta(minutes=10)


@dataclass(frozen=True)
class Senders:
    """What a debit step needs besides the database and the clock."""

    http: PooledClient
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


_EVENTS = {DebitStatus.SUCCEEDED: "debit.succeeded", DebitStatus.SKIPPED: "debit.skipped"}


# ------------------------------------------------------------ part 1: decide


@dataclass(frozen=True, slots=True)
class Claimed:
    """A due debit as its batch claimed it, locked, with what deciding needs of its mandate
    and whether its bill was paid (or its balance topped up) otherwise (``sending._CLAIM``)."""

    debit: Debit
    mandate_status: str
    cap: int
    funding_sources: list[dict[str, str]]
    settled_otherwise: bool


def _finish(
    w: Writes, debit: Debit, status: DebitStatus, reason: str | None, now: datetime, **event: object
) -> str:
    w.set(debit, status=status, reason=reason, next_attempt_at=None, pending_source=None,
          finished_at=now, payment_id=event.get("payment_id"))  # fmt: skip
    if status is not DebitStatus.CANCELLED:  # a cancellation follows the mandate's or bill's news
        w.announce(debit, _EVENTS.get(status, "debit.failed"), event, now)
    return f"{status.lower()}: {reason}" if reason else status.lower()


def decide(w: Writes, senders: Senders, claimed: Claimed, now: datetime) -> Plan | Step | str:
    """The plan for part 2, or what happened (the step is over)."""
    debit = claimed.debit
    if debit.channel_txn_id is not None:  # taken; the write-off had not been recorded
        w.set(debit, next_attempt_at=now + LEASE)
        return Plan("write_off")
    if debit.pending_source is not None:  # its outcome is not known: ask, never debit again
        w.set(debit, next_attempt_at=now + LEASE)
        return Plan("ask", debit.pending_source)
    stop = _reason_to_stop(claimed, now)
    if stop is not None:
        return _finish(w, debit, *stop, now, cap=claimed.cap)
    wait_until = _wait_until(senders, debit, now)
    if wait_until is not None:
        w.set(debit, next_attempt_at=wait_until)
        return Step.WAITING
    sources = claimed.funding_sources
    source = sources[min(debit.source_index, len(sources) - 1)]["id"]
    # write-ahead: the source is recorded as pending, and committed, before the debit leaves
    w.set(debit, status=DebitStatus.SENT, pending_source=source, next_attempt_at=now + LEASE)
    return Plan("debit", source)


def _reason_to_stop(claimed: Claimed, now: datetime) -> tuple[DebitStatus, str] | None:
    debit = claimed.debit
    if claimed.mandate_status != MandateStatus.ACTIVE:
        return DebitStatus.CANCELLED, "MANDATE_CANCELLED"
    if debit.amount > claimed.cap:  # the payer lowered the cap after it was scheduled
        return DebitStatus.SKIPPED, "OVER_CAP"
    if claimed.settled_otherwise:
        topped_up = debit.purpose == "prepaid_topup"
        return DebitStatus.CANCELLED, "TOPPED_UP" if topped_up else "PAID_BY_HAND"
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


async def talk(clock: Clock, senders: Senders, debit: Debit, plan: Plan) -> Result:
    channel = senders.channel_by_id(debit.channel_id)
    if channel is None or channel.debit_url is None:
        return Unanswered("the channel has no debit URL any more")
    if plan.kind == "ask":
        return await channel_debits.ask(senders.http, channel, debit.id, plan.source, clock.now())
    request = _request(debit, debit.mandate_id, plan.source, senders.biller_code(debit.biller_id))
    return await channel_debits.send(senders.http, channel, request, clock.now())


# ------------------------------------------------------------ part 3: record


@dataclass(frozen=True, slots=True)
class Relocked:
    """A debit locked again once its channel answered (``sending._RELOCK``)."""

    debit: Debit
    funding_sources: list[dict[str, str]]
    attempts_made: int  # rows in its log so far
    due_at: datetime  # its ``next_attempt_at``: the end of the lease its step was claimed with


def record(w: Writes, now: datetime, locked: Relocked, plan: Plan, result: Result) -> Step | str:
    debit = locked.debit
    said = (
        result.status if isinstance(result, DebitAnswer)
        else "NOT_RECEIVED" if isinstance(result, NotReceived)
        else f"UNANSWERED: {result.reason}"
    )  # fmt: skip
    attempt = locked.attempts_made + 1
    w.log(debit, attempt, plan.source, "query" if plan.kind == "ask" else "debit", said, now)
    if isinstance(result, NotReceived):  # it never arrived: send it again, same key
        w.set(debit, pending_source=None, next_attempt_at=now)
        return Step.RESEND
    if isinstance(result, Unanswered) or result.status is Answered.PROCESSING:
        wait = min(ASK_FIRST * 2 ** min(attempt - 1, 8), ASK_LONGEST)
        w.set(debit, next_attempt_at=now + wait)
        return Step.PENDING
    if result.status is Answered.SUCCEEDED:  # the source stays recorded: it is the one that paid
        # leased while the bill is written off, so no other worker writes it off meanwhile:
        # the claim's lease while half of it is left, so the row changes in no indexed
        # column (a HOT update: none of debits' seven indexes is written), else a new one
        lease = {} if locked.due_at >= now + LEASE / 2 else {"next_attempt_at": now + LEASE}
        w.set(debit, channel_txn_id=result.channel_txn_id or "-", **lease)
        return Step.TAKEN
    return _declined(w, locked, now)


def _declined(w: Writes, locked: Relocked, now: datetime) -> Step | str:
    debit = locked.debit
    if debit.source_index + 1 < len(locked.funding_sources):  # the next source, at once
        w.set(debit, pending_source=None, source_index=debit.source_index + 1,
              next_attempt_at=now)  # fmt: skip
        return Step.NEXT_SOURCE
    again = HOURS[debit.purpose].next_round(now)
    if again >= debit.deadline:
        return _finish(w, debit, DebitStatus.FAILED, "ALL_SOURCES_FAILED", now)
    w.set(debit, pending_source=None, source_index=0, rounds=debit.rounds + 1,
          next_attempt_at=again)  # fmt: skip
    return Step.NEXT_WORKING_DAY


# ------------------------------------------------------------ writing the bill off


@dataclass(frozen=True, slots=True)
class WrittenOff:
    """What the payment machinery made of a debit's money: its payment, or its refusal."""

    command: PaymentCommand
    payment: Payment | None
    refusal: str | None = None


async def write_off(senders: Senders, debit: Debit) -> WrittenOff | None:
    """The money is taken: write the bill off as a payment whose order id is the debit's.
    None while the directory does not know the biller or the channel (its next reload will).
    The payment machinery owns its transactions (a hosted biller's are batched)."""
    biller = senders.biller_by_id(debit.biller_id)
    channel = senders.channel_by_id(debit.channel_id)
    if biller is None or channel is None:
        return None
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
        return WrittenOff(command, None, refusal.code)
    return WrittenOff(command, result.payment)


async def record_write_off(
    conn: AsyncConnection,
    w: Writes,
    clock: Clock,
    debit: Debit,
    paid_by: str | None,
    done: WrittenOff,
) -> str:
    """The debit finished as its write-off went (a refused one is a FAILED payment, so the
    channel is told to give the money back)."""
    now = clock.now()
    payment = done.payment
    if payment is None or payment.status is PaymentStatus.FAILED:
        payment_id = (
            payment.id if payment else await record_refused(conn, clock, done.command,
                                                              done.refusal or "REFUSED")
        )  # fmt: skip
        return _finish(w, debit, DebitStatus.FAILED, "WRITE_OFF_REFUSED", now,
                       payment_id=payment_id, funding_source=paid_by)  # fmt: skip
    return _finish(w, debit, DebitStatus.SUCCEEDED, None, now, payment_id=payment.id,
                   receipt_no=payment.receipt_no, funding_source=paid_by)  # fmt: skip
