"""Taking a payment: check it, write the bills off at the biller, book it, tell the outbox.

How the write-off happens depends on the biller's integration mode; each mode
is a ``WriteOffPath``. Hosted billers keep their bills in the hub, so the whole
payment is one transaction; remote billers are reached by the biller protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import BillerCode, IntegrationMode
from utilipay.clock import Clock, business_date
from utilipay.errors import DomainError, ErrorCode
from utilipay.ids import new_id
from utilipay.payments import repository
from utilipay.payments.rules import check_amount, request_fingerprint
from utilipay.payments.schemas import Payment, PaymentCommand

_REFUSALS = {
    "REPLAYED": ErrorCode.UNAUTHENTICATED,
    "IDEMPOTENCY_CONFLICT": ErrorCode.IDEMPOTENCY_CONFLICT,
    "ACCOUNT_NOT_FOUND": ErrorCode.ACCOUNT_NOT_FOUND,
    "NO_BILL_DUE": ErrorCode.NO_BILL_DUE,
    "BILL_NOT_FOUND": ErrorCode.NOT_FOUND,
    "BILL_ALREADY_PAID": ErrorCode.BILL_ALREADY_PAID,
    "AMOUNT_MISMATCH": ErrorCode.AMOUNT_MISMATCH,
}


@dataclass(frozen=True, slots=True)
class PaymentResult:
    payment: Payment
    created: bool  # False: the same order was already taken, this is its payment


class WriteOffPath(Protocol):
    async def pay(
        self, conn: AsyncConnection, clock: Clock, command: PaymentCommand, biller_code: BillerCode
    ) -> PaymentResult: ...


class HostedWriteOff:
    """The biller's books are the hub's tables: accept, write off and book in one call."""

    async def pay(
        self, conn: AsyncConnection, clock: Clock, command: PaymentCommand, biller_code: BillerCode
    ) -> PaymentResult:
        now = clock.now()
        row = await repository.pay_hosted(
            conn,
            id=new_id("P"),
            channel_id=command.channel.id,
            nonce=command.nonce,
            order_id=command.order_id,
            request_hash=request_fingerprint(
                command.biller.code,
                command.account_no,
                command.amount,
                command.bill_nos,
                command.payer,
            ),
            biller_id=command.biller.id,
            account_no=command.account_no,
            amount=command.amount,
            bill_nos=list(command.bill_nos) if command.bill_nos is not None else None,
            payer=command.payer,
            now=now,
            receipt_prefix=f"R{business_date(now):%Y%m%d}",
            receivable_account=command.channel.receivable_account_id,
            payable_account=command.biller.payable_account_id,
        )
        if row.outcome in _REFUSALS:
            raise DomainError(_REFUSALS[row.outcome], row.detail)
        return PaymentResult(repository.to_payment(row, biller_code), row.outcome == "CREATED")


WRITE_OFF_PATHS: dict[IntegrationMode, WriteOffPath] = {IntegrationMode.HOSTED: HostedWriteOff()}


def validate(command: PaymentCommand) -> WriteOffPath:
    """The checks that need no database; refusals here touch nothing."""
    command.biller.rule.check(command.biller.code, command.account_no)
    check_amount(command.biller, command.amount)
    path = WRITE_OFF_PATHS.get(command.biller.mode)
    if path is None:
        raise DomainError(
            ErrorCode.BILLER_UNAVAILABLE, f"biller {command.biller.code} cannot take payments"
        )
    return path


async def pay(
    conn: AsyncConnection, clock: Clock, command: PaymentCommand, biller_code: BillerCode
) -> PaymentResult:
    """Take one payment. The caller's transaction is the payment's; this never commits."""
    return await validate(command).pay(conn, clock, command, biller_code)


async def find(
    conn: AsyncConnection,
    channel_id: int,
    biller_code: BillerCode,
    *,
    payment_id: str | None = None,
    order_id: str | None = None,
) -> Payment:
    """A channel's own payment, by the hub's id or the channel's order id."""
    if payment_id is not None:
        row = await repository.by_id(conn, payment_id)
    elif order_id is not None:
        row = await repository.by_order(conn, channel_id, order_id)
    else:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "give a payment id or an order_id")
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such payment")
    if row.channel_id != channel_id:
        raise DomainError(ErrorCode.FORBIDDEN, "this payment belongs to another channel")
    return repository.to_payment(row, biller_code)
