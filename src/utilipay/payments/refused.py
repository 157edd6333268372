"""A payment refused after the payer's money was already taken (an auto-pay debit whose
bill was paid another way meanwhile): it is still recorded, FAILED, so the channel is
told by the usual ``payment.failed`` webhook to refund the payer (channel-api.md §5)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock
from utilipay.ids import new_id
from utilipay.payments.rules import fingerprint_of
from utilipay.payments.schemas import PaymentCommand

_RECORD = text(
    """
    WITH claimed AS (  -- the order id, across billers (migration 0022)
        INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id)
        VALUES (:channel_id, :order_id, :biller_id, :id)
        ON CONFLICT (channel_id, order_id) DO NOTHING
        RETURNING *
    ),
    failed AS (
        INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer,
                              account_no, amount, bill_nos, status, failure_code, created_at,
                              finished_at)
        SELECT biller_id, payment_id, channel_id, order_id, :request_hash, :payer, :account_no,
               :amount, :bill_nos, 'FAILED', :failure_code, :now, :now
          FROM claimed
        RETURNING *
    )
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT f.biller_id, 'payment.failed', f.id, payment_event(f), :now FROM failed f
    RETURNING aggregate_id
    """
)


async def record_refused(
    conn: AsyncConnection, clock: Clock, command: PaymentCommand, failure_code: str
) -> str | None:
    """The FAILED payment's id; None if the order already has a payment (it stands)."""
    row = (
        await conn.execute(
            _RECORD,
            {
                "biller_id": command.biller.id,
                "id": new_id("P"),
                "channel_id": command.channel.id,
                "order_id": command.order_id,
                "request_hash": fingerprint_of(command),
                "payer": command.payer,
                "account_no": command.account_no,
                "amount": command.amount,
                "bill_nos": list(command.bill_nos or ()),
                "failure_code": failure_code,
                "now": clock.now(),
            },
        )
    ).first()
    return str(row.aggregate_id) if row is not None else None
