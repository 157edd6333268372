"""A void's outcome, recorded once: the payment's status, the bills (hosted) or the claims
(remote), the float given back, the ledger's PAYMENT_VOID entry, the outbox.

As with a write-off's outcomes (``outcomes.py``), every move is conditional on the status
it leaves, so the terminal's request, the resolver and a person resolving an exception can
race and only the first one counts: each function says whether its call moved the payment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.claims import service as claims
from utilipay.ledger import flows as ledger
from utilipay.outlets import voiding
from utilipay.payments.outcomes import announce
from utilipay.payments.schemas import PaymentKey

VOIDING = "VOIDING"  # payments.resolution while a void waits for a remote utility's answer

_PENDING = text(
    """
    UPDATE payments
       SET status = 'VOID_PENDING', resolution = 'VOIDING', next_check_at = :next_check_at,
           resolve_by = :resolve_by, refund_attempts = 0, last_outcome = :outcome
     WHERE biller_id = :biller_id AND id = :id AND status = 'SUCCEEDED'
    RETURNING *
    """
)
_VOIDED = text(
    """
    UPDATE payments
       SET status = 'VOIDED', reversed_at = :now, resolution = NULL, next_check_at = NULL,
           last_outcome = :outcome
     WHERE biller_id = :biller_id AND id = :id AND status IN ('SUCCEEDED', 'VOID_PENDING')
    RETURNING *
    """
)
_STANDS = text(
    """
    UPDATE payments
       SET status = 'SUCCEEDED', resolution = NULL, next_check_at = NULL, last_outcome = :outcome
     WHERE biller_id = :biller_id AND id = :id AND status = 'VOID_PENDING'
    RETURNING *
    """
)
_WAIT = text(
    """
    UPDATE payments
       SET next_check_at = :next_check_at, refund_attempts = refund_attempts + 1,
           last_outcome = :outcome
     WHERE biller_id = :biller_id AND id = :id AND status = 'VOID_PENDING'
       AND resolution = 'VOIDING'
    RETURNING *
    """
)
_UNDO_WRITE_OFF = text("SELECT billing_undo_write_off(:biller_id, :id)")


def _key(payment: PaymentKey) -> dict[str, object]:
    return {"biller_id": payment.biller_id, "id": payment.id}


async def pending(
    conn: AsyncConnection,
    payment: PaymentKey,
    next_check_at: datetime,
    resolve_by: datetime,
    note: str,
) -> bool:
    """Written ahead of the refund (as a reversal is: ``outcomes.begin_reversal``): a hub that
    dies after sending it finds the void pending, and asks again, never forgets it."""
    values = {**_key(payment), "next_check_at": next_check_at, "resolve_by": resolve_by,
              "outcome": note[:300]}  # fmt: skip
    return (await conn.execute(_PENDING, values)).first() is not None


async def voided(
    conn: AsyncConnection, payment: PaymentKey, now: datetime, note: str, *, hosted: bool
) -> bool:
    """The write-off is undone: VOIDED, the bills due again (hosted: the hub's own; remote:
    the claims released), the float given back and booked, the channel told."""
    values = {**_key(payment), "now": now, "outcome": note[:300]}
    row = (await conn.execute(_VOIDED, values)).first()
    if row is None:
        return False
    if hosted:
        undone = await conn.scalar(_UNDO_WRITE_OFF, _key(row))
        if undone != len(row.bill_nos):
            raise RuntimeError(f"payment {row.id}: {undone} of {len(row.bill_nos)} bills undone")
    else:
        await claims.release(conn, row.biller_id, row.id, now)
    float_account = await voiding.give_back(conn, row.biller_id, row.id, now)
    await ledger.post_payment_void(
        conn, biller_id=row.biller_id, payment_id=row.id, float_account=float_account,
        amount=row.amount, at=now,
    )  # fmt: skip
    await announce(conn, row, "payment.voided", now)
    return True


async def stands(conn: AsyncConnection, payment: PaymentKey, now: datetime, refusal: str) -> bool:
    """The utility refused, for good, to undo the write-off: SUCCEEDED again, the void
    recorded as refused with the utility's reason, the channel told (it was answered 202)."""
    values = {**_key(payment), "outcome": f"void refused: {refusal}"[:300]}
    row = (await conn.execute(_STANDS, values)).first()
    if row is None:
        return False
    await voiding.refuse_void(conn, row.biller_id, row.id, now, refusal)
    await announce(conn, row, "payment.void_refused", now)
    return True


async def wait(
    conn: AsyncConnection, payment: PaymentKey, delay: timedelta, now: datetime, note: str
) -> bool:
    """The refund is still unanswered: ask again after ``delay``."""
    values = {**_key(payment), "next_check_at": now + delay, "outcome": note[:300]}
    return (await conn.execute(_WAIT, values)).first() is not None
