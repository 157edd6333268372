"""Gathering a receipt from the hub's own books (no call to the utility: a receipt is
reprinted offline too), and checking a receipt's verification code.

Only a payment that wrote its bills off has a receipt: SUCCEEDED, or VOIDED afterwards
(then marked 已冲正). A PROCESSING or FAILED payment has none (404 ``NOT_FOUND``, the
payment's status in ``payment_status``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers_repo
from utilipay.billing import repository as billing_repo
from utilipay.clock import business_date
from utilipay.common.masking import mask_name
from utilipay.errors import DomainError, ErrorCode
from utilipay.outlets.receipts_view import taking_of
from utilipay.payments import repository as payments_repo
from utilipay.payments.schemas import StoredPayment
from utilipay.receipts.codes import codes_match, receipt_code, receipt_key
from utilipay.receipts.schemas import Receipt, ReceiptBill

# The one status after SUCCEEDED (§5), reached only by a void (§11); a string here until
# the payments area's PaymentStatus lists it.
VOIDED = "VOIDED"
_WITH_RECEIPT = frozenset({"SUCCEEDED", VOIDED})


async def payment_with_receipt(
    conn: AsyncConnection, payment_id: str, channel_id: int | None = None
) -> StoredPayment:
    """The payment, if it has a receipt; ``channel_id`` given: only that channel's own."""
    payment = await payments_repo.by_id(conn, payment_id)
    if payment is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no payment {payment_id}")
    if channel_id is not None and payment.channel_id != channel_id:
        raise DomainError(ErrorCode.FORBIDDEN, "this payment belongs to another channel")
    if payment.status not in _WITH_RECEIPT or payment.receipt_no is None:
        raise DomainError(
            ErrorCode.NOT_FOUND,
            f"payment {payment_id} is {payment.status}: only a payment that wrote its bills "
            "off (SUCCEEDED, or VOIDED since) has a receipt",
            payment_status=str(payment.status),
        )
    return payment


async def _bills(conn: AsyncConnection, payment: StoredPayment) -> tuple[ReceiptBill, ...]:
    paid_on = business_date(payment.created_at)
    found = await billing_repo.paid_bills(conn, payment.biller_id, payment.bill_nos, paid_on)
    bills = []
    for no in payment.bill_nos:
        bill = found.get(no)
        period, amount = (bill.period, bill.total) if bill else (None, None)
        bills.append(ReceiptBill(no, period, amount))
    return tuple(bills)


async def build(conn: AsyncConnection, payment: StoredPayment, now: datetime) -> Receipt:
    """The receipt of a payment ``payment_with_receipt`` gave."""
    biller = await billers_repo.by_id(conn, payment.biller_id)
    if biller is None or payment.receipt_no is None:
        raise RuntimeError(f"payment {payment.id} without its biller or receipt number")
    account = await billing_repo.account(conn, payment.biller_id, payment.account_no)
    key = await receipt_key(conn, now)
    return Receipt(
        receipt_no=payment.receipt_no,
        payment_id=payment.id,
        voided=payment.status == VOIDED,
        biller_code=biller.code,
        biller_name=biller.name,
        account_no=payment.account_no,
        holder=mask_name(account.holder_name) if account else None,
        bills=await _bills(conn, payment),
        amount=payment.amount,
        paid_at=payment.created_at,
        outlet=await taking_of(conn, payment.biller_id, payment.id),
        code=receipt_code(key, payment.receipt_no, payment.id, payment.amount, payment.created_at),
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    genuine: bool
    payment_id: str | None = None  # what the genuine receipt is of
    status: str | None = None
    amount: int | None = None
    paid_at: datetime | None = None


_BY_RECEIPT = text(
    "SELECT id, amount, status, created_at FROM payments_orders WHERE receipt_no = :receipt_no"
)


async def verify(conn: AsyncConnection, receipt_no: str, code: str, now: datetime) -> Verdict:
    """Whether ``code`` is the code of receipt ``receipt_no``; every payment printed with that
    number (a remote utility's numbers may repeat across utilities) is compared, in constant
    time, and none is skipped once one matched."""
    key = await receipt_key(conn, now)
    verdict = Verdict(genuine=False)
    for row in await conn.execute(_BY_RECEIPT, {"receipt_no": receipt_no}):
        expected = receipt_code(key, receipt_no, row.id, row.amount, row.created_at)
        if codes_match(expected, code) and row.status in _WITH_RECEIPT:
            verdict = Verdict(True, row.id, row.status, row.amount, row.created_at)
    return verdict
