from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import BillerCode
from utilipay.payments.schemas import Payment, PaymentStatus
from utilipay.payments.tables import payments

_PAY_HOSTED = text(
    """
    SELECT r.outcome, r.detail, (r.payment).*
      FROM pay_hosted(:id, :channel_id, :nonce, :order_id, :request_hash, :biller_id,
                      :account_no, :amount, :bill_nos, :payer, :now, :receipt_prefix,
                      :receivable_account, :payable_account) r
    """
)


def to_payment(row: Any, biller_code: BillerCode) -> Payment:
    return Payment(
        id=row.id,
        order_id=row.order_id,
        channel_id=row.channel_id,
        status=PaymentStatus(row.status),
        biller=biller_code(row.biller_id),
        account_no=row.account_no,
        amount=row.amount,
        currency=row.currency,
        bill_nos=tuple(row.bill_nos),
        receipt_no=row.receipt_no,
        biller_serial=row.biller_serial,
        failure_code=row.failure_code,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


async def pay_hosted(conn: AsyncConnection, **params: Any) -> Any:
    """One round trip: nonce, idempotency, bill locks, write-off, ledger, outbox (see 0001)."""
    return (await conn.execute(_PAY_HOSTED, params)).one()


async def by_id(conn: AsyncConnection, payment_id: str) -> Any | None:
    return (await conn.execute(select(payments).where(payments.c.id == payment_id))).first()


async def by_order(conn: AsyncConnection, channel_id: int, order_id: str) -> Any | None:
    return (
        await conn.execute(
            select(payments).where(
                payments.c.channel_id == channel_id, payments.c.order_id == order_id
            )
        )
    ).first()
