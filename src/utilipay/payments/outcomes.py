"""A remote payment's final outcome, recorded once: status, receipt, ledger, claims, outbox.

Every transition is conditional on the payment still being PROCESSING, so the
request that charged, the resolver and a person resolving an exception can
race and only the first one counts; the others see the outcome it recorded.
(Hosted payments reach the same rows inside ``pay_hosted``, ``sql/pay_hosted.sql``; both
book by the ledger's rule for a payment, ``ledger/flows.py``.) A terminal's payment held
its amount in the outlet's float when it was accepted: success takes it (the entry debits
the float), failure releases it, in the transaction that records the outcome.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.claims import service as claims
from utilipay.clock import business_date
from utilipay.ledger import flows as ledger
from utilipay.outlets import floats
from utilipay.payments.schemas import PaymentKey

_SUCCEED = text(
    """
    UPDATE payments
       SET status = 'SUCCEEDED', biller_serial = :serial, finished_at = :now,
           receipt_no = :receipt_prefix || lpad(nextval('receipt_seq')::text, 10, '0'),
           resolution = NULL, next_check_at = NULL, last_outcome = :outcome
     WHERE biller_id = :biller_id AND id = :id AND status = 'PROCESSING'
       -- once a refund may be in flight, no answer but the refund's counts
       AND resolution IS DISTINCT FROM 'REVERSING'
    RETURNING *
    """
)

_FAIL = text(
    """
    UPDATE payments
       SET status = 'FAILED', failure_code = :failure_code, finished_at = :now,
           resolution = NULL, next_check_at = NULL, last_outcome = :outcome,
           reversed_at = CASE WHEN CAST(:reversed AS boolean) THEN CAST(:now AS timestamptz) END,
           biller_serial = coalesce(:serial, biller_serial)
     WHERE biller_id = :biller_id AND id = :id AND status = 'PROCESSING'
    RETURNING *
    """
)

_ANNOUNCE = text(
    """
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT biller_id, :event_type, id, payment_event(p), :now
      FROM payments p WHERE biller_id = :biller_id AND id = :id
    """
)

_WAIT = text(
    """
    UPDATE payments
       SET resolution = :resolution, next_check_at = :next_check_at,
           check_attempts = check_attempts + 1,
           refund_attempts = refund_attempts + :refund_attempted,
           last_outcome = :outcome
     WHERE biller_id = :biller_id AND id = :id AND status = 'PROCESSING'
       AND (resolution IS DISTINCT FROM 'REVERSING' OR :resolution = 'REVERSING')
    RETURNING *
    """
)


async def succeed(
    conn: AsyncConnection, payment: Any, serial: str, now: datetime, outcome: str
) -> Any | None:
    """Written off at the biller: SUCCEEDED with its receipt, booked, announced. Not once a
    reversal has begun (a refund may still land); a person resolving an exception may."""
    row = (
        await conn.execute(
            _SUCCEED,
            {
                "biller_id": payment.biller_id,
                "id": payment.id,
                "serial": serial,
                "now": now,
                "receipt_prefix": f"R{business_date(now):%Y%m%d}",
                "outcome": outcome,
            },
        )
    ).first()
    if row is None:
        return None
    await ledger.post_payment(
        conn,
        biller_id=row.biller_id,
        channel_id=row.channel_id,
        payment_id=row.id,
        amount=row.amount,
        at=now,
        receivable=await floats.settle(conn, row.biller_id, row.id, "TAKEN", now),
    )
    await announce(conn, row, "payment.succeeded", now)
    return row


async def fail(
    conn: AsyncConnection,
    payment: Any,
    failure_code: str,
    now: datetime,
    outcome: str,
    *,
    reversed_serial: str | None = None,
    reversed_write_off: bool = False,
) -> Any | None:
    """Definitively not written off (never, or undone by a reversal): FAILED, claims released."""
    row = (
        await conn.execute(
            _FAIL,
            {
                "biller_id": payment.biller_id,
                "id": payment.id,
                "failure_code": failure_code,
                "now": now,
                "outcome": outcome,
                "reversed": reversed_write_off,
                "serial": reversed_serial,
            },
        )
    ).first()
    if row is None:
        return None
    await floats.settle(conn, row.biller_id, row.id, "RELEASED", now)
    await claims.release(conn, row.biller_id, row.id, now)
    await announce(conn, row, "payment.failed", now)
    return row


async def wait(
    conn: AsyncConnection,
    payment: Any,
    resolution: str,
    delay: timedelta,
    now: datetime,
    outcome: str,
    *,
    refund_attempted: bool = False,
) -> Any | None:
    """Still unknown: ask again after ``delay`` (a reversal, once begun, stays one)."""
    return (
        await conn.execute(
            _WAIT,
            {
                "biller_id": payment.biller_id,
                "id": payment.id,
                "resolution": resolution,
                "next_check_at": now + delay,
                "refund_attempted": 1 if refund_attempted else 0,
                "outcome": outcome,
            },
        )
    ).first()


async def begin_reversal(
    conn: AsyncConnection, payment: PaymentKey, now: datetime, outcome: str
) -> None:
    """Record the decision to reverse, due at once, before any refund is sent (write-ahead):
    a worker killed after sending a refund must not leave a payment that still believes a
    late SUCCESS, or a delayed refund could undo a write-off the hub reported."""
    await conn.execute(
        text(
            "UPDATE payments SET resolution = 'REVERSING', next_check_at = :now,"
            " last_outcome = :outcome"
            " WHERE biller_id = :biller_id AND id = :id AND status = 'PROCESSING'"
        ),
        {"biller_id": payment.biller_id, "id": payment.id, "now": now, "outcome": outcome},
    )


async def announce(conn: AsyncConnection, row: PaymentKey, event_type: str, now: datetime) -> None:
    await conn.execute(
        _ANNOUNCE,
        {"biller_id": row.biller_id, "id": row.id, "event_type": event_type, "now": now},
    )
