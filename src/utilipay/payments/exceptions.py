"""The exceptions queue: the one list of work the hub leaves for people, until resolved.

Two sources, one queue (``payment_exceptions``, one id space, one backlog in
``/metrics``):

- ``REVERSAL``: a payment whose reversal could not be completed. It stays PROCESSING
  (the hub never reports FAILED for a payment that may have been written off) and
  leaves automatic resolution. Staff find out from the utility what happened and
  record it: written off (SUCCEEDED, with the utility's serial), not written off
  (FAILED), or retry (back to automatic reversal).
- ``VOID``: a terminal's void whose refund (冲正) stayed unanswered past the utility's
  deadline (``voids.py``). It stays VOID_PENDING. Staff record what the utility says: the
  write-off still stands (WRITTEN_OFF: SUCCEEDED again, the void refused), it was undone
  (NOT_WRITTEN_OFF: VOIDED, the float given back), or retry (back to automatic refunds).
- a break a reconciliation run leaves for a person, by the class of the break
  (``CHANNEL_ONLY``, ``HUB_ONLY``, ``AMOUNT_MISMATCH``, ``STATUS_MISMATCH``,
  ``DUPLICATE``), with the run's evidence and the channel's statement line. An order
  the channel took money for and the hub never saw has no payment: the item names the
  channel's order. Its outcomes are what a person can have done about money the hub's
  books do not hold: ``REFUNDED`` (given back to the payer through the channel; the
  refund's reference), ``BOOKED_LATE`` (the payment that booked it later: a hub
  payment of the same channel and amount, SUCCEEDED, that books no other order) or
  ``NO_ACTION`` (nothing to do, and the reason says why). Not every outcome fits every
  break: a payment the channel does not list cannot have been refunded by it.

Every resolution names who, when and why, in the queue and in the audit log; an
outcome that does not fit the item is refused with the ones that do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.payments import outcomes, void_outcomes
from utilipay.payments.schemas import PaymentKey, PaymentStatus
from utilipay.payments.tables import payment_exceptions, payments


class Kind(StrEnum):
    REVERSAL = "REVERSAL"
    VOID = "VOID"
    CHANNEL_ONLY = "CHANNEL_ONLY"
    HUB_ONLY = "HUB_ONLY"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    STATUS_MISMATCH = "STATUS_MISMATCH"
    DUPLICATE = "DUPLICATE"


class Resolution(StrEnum):
    WRITTEN_OFF = "WRITTEN_OFF"
    NOT_WRITTEN_OFF = "NOT_WRITTEN_OFF"
    RETRY = "RETRY"
    REFUNDED = "REFUNDED"
    BOOKED_LATE = "BOOKED_LATE"
    NO_ACTION = "NO_ACTION"


R = Resolution
OUTCOMES: dict[Kind, tuple[Resolution, ...]] = {
    Kind.REVERSAL: (R.WRITTEN_OFF, R.NOT_WRITTEN_OFF, R.RETRY),
    Kind.VOID: (R.WRITTEN_OFF, R.NOT_WRITTEN_OFF, R.RETRY),
    Kind.CHANNEL_ONLY: (R.REFUNDED, R.BOOKED_LATE, R.NO_ACTION),
    Kind.STATUS_MISMATCH: (R.REFUNDED, R.BOOKED_LATE, R.NO_ACTION),
    Kind.DUPLICATE: (R.REFUNDED, R.NO_ACTION),
    Kind.AMOUNT_MISMATCH: (R.REFUNDED, R.NO_ACTION),
    Kind.HUB_ONLY: (R.NO_ACTION,),
}
# What the reference of an outcome is; an outcome named here needs one.
REFERENCES = {R.REFUNDED: "the channel's refund reference", R.BOOKED_LATE: "the payment id"}


@dataclass(frozen=True, slots=True)
class Break:
    """A break a reconciliation run leaves for a person (``recon/actions.py``)."""

    kind: Kind
    biller_id: int | None
    payment_id: str | None
    channel_code: str | None
    order_id: str | None
    run_id: int
    item_no: int
    evidence: dict[str, Any]  # the run's, with the channel's statement line spelt out
    reason: str


_QUEUE = text(
    """
    INSERT INTO payment_exceptions (kind, biller_id, payment_id, channel_code, order_id, run_id,
                                    item_no, evidence, reason, opened_at)
    VALUES (:kind, :biller_id, :payment_id, :channel_code, :order_id, :run_id, :item_no,
            :evidence, :reason, :now)
    ON CONFLICT DO NOTHING
    RETURNING id
    """
).bindparams(bindparam("evidence", type_=JSONB(none_as_null=True)))
# The queue's item for the same payment, or the same channel order without one: open,
# or resolved for the same kind of break (a person has dealt with it already).
_QUEUED = text(
    """
    SELECT id, resolution, resolved_by FROM payment_exceptions
     WHERE (payment_id = :payment OR (payment_id IS NULL AND :payment IS NULL
                                      AND channel_code = :channel AND order_id = :order))
       AND (resolved_at IS NULL OR kind = :kind)
     ORDER BY resolved_at NULLS FIRST, id DESC LIMIT 1
    """
)


async def queue_break(conn: AsyncConnection, found: Break, now: datetime) -> int | None:
    """The break's new item; None when the payment or the order already has an open one."""
    values = {**{f: getattr(found, f) for f in Break.__slots__}, "now": now}
    return (await conn.execute(_QUEUE, values)).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class Queued:
    """The queue's item that stands for a break: open (no resolution yet) or resolved."""

    id: int
    resolution: Resolution | None
    resolved_by: str | None


async def queued_for(
    conn: AsyncConnection, payment_id: str | None, channel_code: str | None,
    order_id: str | None, kind: Kind,
) -> Queued | None:  # fmt: skip
    """The item that stands for this break already, or None."""
    key = {"payment": payment_id, "channel": channel_code, "order": order_id, "kind": kind}
    row = (await conn.execute(_QUEUED, key)).first()
    if row is None:
        return None
    resolution = None if row.resolution is None else Resolution(row.resolution)
    return Queued(row.id, resolution, row.resolved_by)


@dataclass(frozen=True, slots=True)
class OpenException:
    id: int
    kind: Kind
    biller_id: int | None
    payment_id: str | None
    order_id: str
    channel_code: str | None
    account_no: str | None
    amount: int | None  # fen: the payment's, else what the channel took
    reason: str
    opened_at: datetime
    evidence: dict[str, Any] | None  # the run's: hub, channel (and its line), utility

    @property
    def outcomes(self) -> tuple[Resolution, ...]:
        return OUTCOMES[self.kind]


_LIST = text(
    """
    SELECT e.id, e.kind, e.biller_id, e.payment_id,
           coalesce(p.order_id, e.order_id) AS order_id,
           coalesce(e.channel_code, e.evidence #>> '{channel,channel}', c.code) AS channel_code,
           coalesce(p.account_no, e.evidence #>> '{channel,statement,account}') AS account_no,
           coalesce(p.amount, (e.evidence #>> '{channel,amount}')::bigint) AS amount,
           e.reason, e.opened_at, e.evidence
      FROM payment_exceptions e
      LEFT JOIN payments p ON p.biller_id = e.biller_id AND p.id = e.payment_id
      LEFT JOIN channels_directory c ON c.id = p.channel_id
     WHERE e.resolved_at IS NULL AND (CAST(:kind AS text) IS NULL OR e.kind = :kind)
     ORDER BY e.opened_at, e.id
    """
)


async def open_exception(
    conn: AsyncConnection,
    payment: PaymentKey,
    reason: str,
    now: datetime,
    *,
    kind: Kind = Kind.REVERSAL,
) -> None:
    await conn.execute(
        update(payments)
        .where(payments.c.biller_id == payment.biller_id, payments.c.id == payment.id)
        .values(resolution="EXCEPTION", next_check_at=None, last_outcome=reason[:300])
    )
    await conn.execute(
        text(
            "INSERT INTO payment_exceptions (biller_id, payment_id, reason, opened_at, kind)"
            " VALUES (:b, :p, :r, :now, :kind) ON CONFLICT DO NOTHING"
        ),
        {"b": payment.biller_id, "p": payment.id, "r": reason[:500], "now": now, "kind": kind},
    )


async def list_open(conn: AsyncConnection, kind: Kind | None = None) -> list[OpenException]:
    """The open items, oldest first (of one kind, if named)."""
    rows = await conn.execute(_LIST, {"kind": kind})
    return [OpenException(**{**r._mapping, "kind": Kind(r.kind)}) for r in rows]


async def resolve(
    conn: AsyncConnection,
    clock: Clock,
    exception_id: int,
    resolution: Resolution,
    *,
    actor: str,
    reason: str,
    biller_serial: str | None = None,
    reference: str | None = None,
) -> str:
    """Record what a person found out or did; returns what became of the item's payment
    (or of the channel's order)."""
    if not reason.strip():
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "say why: a reason is required")
    found = (
        await conn.execute(
            select(payment_exceptions)
            .where(payment_exceptions.c.id == exception_id)
            .with_for_update()
        )
    ).first()
    if found is None or found.resolved_at is not None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no open exception {exception_id}")
    kind = Kind(found.kind)
    if resolution not in OUTCOMES[kind]:
        fits = ", ".join(OUTCOMES[kind])
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"exception {exception_id} is a {kind}: resolve it {fits}, not {resolution}",
        )
    now = clock.now()
    if kind is Kind.REVERSAL:
        state = await _resolve_reversal(conn, found, resolution, actor, reason, biller_serial, now)
        reference = biller_serial
    elif kind is Kind.VOID:
        state = await _resolve_void(conn, found, resolution, f"resolved by {actor}: {reason}", now)
    else:
        reference = await _check_reference(conn, found, resolution, reference)
        state = _recorded(found, resolution, reference)
    resolved = {"resolved_at": now, "resolved_by": actor, "resolution": resolution,
                "note": reason, "reference": reference}  # fmt: skip
    await conn.execute(
        update(payment_exceptions).where(payment_exceptions.c.id == found.id).values(**resolved)
    )
    await audit.record(
        conn, clock, actor=actor, action="exception.resolve",
        object_type="payment" if found.payment_id else "order",
        object_id=found.payment_id or f"{found.channel_code}:{found.order_id}", reason=reason,
        details={"exception": exception_id, "kind": kind, "resolution": resolution,
                 "serial": biller_serial, "reference": reference, "evidence": found.evidence},
        before={"exception": exception_id, "kind": kind, "resolution": None},
        after={"exception": exception_id, "kind": kind, "resolution": resolution,
               "reference": reference, "outcome": state},
    )  # fmt: skip
    return state


async def _item_payment(conn: AsyncConnection, found: Any) -> Any:
    """The payment of a queue item, locked."""
    query = select(payments).where(
        payments.c.biller_id == found.biller_id, payments.c.id == found.payment_id
    )
    return (await conn.execute(query.with_for_update())).one()


async def _resolve_reversal(
    conn: AsyncConnection,
    found: Any,
    resolution: Resolution,
    actor: str,
    reason: str,
    biller_serial: str | None,
    now: datetime,
) -> str:
    """A payment whose reversal could not be completed: what the utility says happened."""
    if resolution is Resolution.WRITTEN_OFF and not (biller_serial or "").strip():
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, "a write-off needs the utility's serial (billerserial)"
        )
    payment = await _item_payment(conn, found)
    note = f"resolved by {actor}: {reason}"
    if resolution is Resolution.WRITTEN_OFF:
        await outcomes.succeed(conn, payment, (biller_serial or "").strip(), now, note)
        return "SUCCEEDED"
    if resolution is Resolution.NOT_WRITTEN_OFF:
        await outcomes.fail(conn, payment, "NOT_WRITTEN_OFF", now, note)
        return "FAILED"
    # back to automatic reversal, with a fresh count of attempts
    await conn.execute(
        update(payments)
        .where(payments.c.biller_id == payment.biller_id, payments.c.id == payment.id)
        .values(resolution="REVERSING", next_check_at=now, refund_attempts=0, last_outcome=note)
    )
    return "PROCESSING (retrying the reversal)"


async def _resolve_void(
    conn: AsyncConnection, found: Any, resolution: Resolution, note: str, now: datetime
) -> str:
    """A void whose refund went unanswered: what the utility says became of the write-off."""
    payment = await _item_payment(conn, found)
    if resolution is Resolution.WRITTEN_OFF:
        await void_outcomes.stands(conn, payment, now, note)
        return "SUCCEEDED (the void refused)"
    if resolution is Resolution.NOT_WRITTEN_OFF:
        await void_outcomes.voided(conn, payment, now, note, hosted=False)
        return "VOIDED"
    await conn.execute(
        update(payments)
        .where(payments.c.biller_id == payment.biller_id, payments.c.id == payment.id)
        .values(resolution=void_outcomes.VOIDING, next_check_at=now, refund_attempts=0,
                last_outcome=note[:300])
    )  # fmt: skip
    return "VOID_PENDING (retrying the refund)"


_BOOKING = text(
    """
    SELECT p.id, p.status, p.amount, c.code AS channel,
           (SELECT e.id FROM payment_exceptions e
             WHERE e.resolution = 'BOOKED_LATE' AND e.reference = p.id) AS books
      FROM payments p JOIN channels_directory c ON c.id = p.channel_id
     WHERE p.id = :id
    """
)


async def _check_reference(
    conn: AsyncConnection, found: Any, resolution: Resolution, reference: str | None
) -> str | None:
    """The outcome's reference, checked: a late booking must be a payment that books this
    order (its channel, its amount, SUCCEEDED, no other order booked by it)."""
    given = (reference or "").strip()
    if resolution not in REFERENCES:
        return given or None
    if not given:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"{resolution} needs a reference: {REFERENCES[resolution]}",
        )
    if resolution is Resolution.BOOKED_LATE:
        # held first, then read afresh: a booking committed meanwhile by someone resolving
        # another exception with the same payment is seen, not run into
        await conn.execute(text("SELECT 1 FROM payments WHERE id = :id FOR UPDATE"), {"id": given})
        booking = (await conn.execute(_BOOKING, {"id": given})).first()
        owed = (found.evidence or {}).get("channel", {}).get("amount")
        problem = _booking_problem(booking, found.channel_code, owed)
        if problem:
            raise DomainError(ErrorCode.MALFORMED_REQUEST, f"payment {given[:64]} {problem}")
    return given[:200]


def _booking_problem(booking: Any, channel: str | None, owed: int | None) -> str | None:
    if booking is None:
        return "is not a payment at the hub"
    if booking.status != PaymentStatus.SUCCEEDED:
        return f"is {booking.status}, not SUCCEEDED"
    if booking.channel != channel or booking.amount != owed:
        return (
            f"is {booking.amount} fen at {booking.channel}, the channel took {owed} fen "
            f"at {channel}"
        )
    if booking.books is not None:
        return f"already books exception {booking.books}"
    return None


def _recorded(found: Any, resolution: Resolution, reference: str | None) -> str:
    said = f"{resolution}" + (f" ({reference})" if reference else "")
    if found.payment_id:
        return f"payment {found.payment_id} unchanged; recorded {said}"
    return f"order {found.order_id} of {found.channel_code}: recorded {said}"


@dataclass(frozen=True, slots=True)
class Item:
    """An item of the queue, open or resolved, as a payment's story tells it."""

    id: int
    kind: Kind
    reason: str
    opened_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: Resolution | None
    note: str | None
    reference: str | None


async def items_for(conn: AsyncConnection, biller_id: int, payment_id: str) -> list[Item]:
    """Every item the payment has been in the queue for, oldest first."""
    e = payment_exceptions.c
    rows = await conn.execute(
        select(
            e.id,
            e.kind,
            e.reason,
            e.opened_at,
            e.resolved_at,
            e.resolved_by,
            e.resolution,
            e.note,
            e.reference,
        )
        .where(e.biller_id == biller_id, e.payment_id == payment_id)
        .order_by(e.opened_at, e.id)
    )
    return [
        Item(**{**r._mapping, "kind": Kind(r.kind),
                "resolution": None if r.resolution is None else Resolution(r.resolution)})
        for r in rows
    ]  # fmt: skip
