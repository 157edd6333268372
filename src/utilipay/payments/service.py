"""Taking a payment: check it, write the bills off at the biller, book it, tell the outbox.

How the write-off happens depends on the biller's integration mode; each mode
is a ``WriteOffPath``. Hosted billers keep their bills in the hub, so the whole
payment is one database transaction; remote billers are reached by the biller
protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.lookup import BillerHost
from utilipay.billers.schemas import CodeOfBiller, IntegrationMode
from utilipay.errors import DomainError, ErrorCode
from utilipay.ids import new_id
from utilipay.payments import repository
from utilipay.payments.hosted import HostedPayment, HostedPayments, Outcome, OutcomeCode
from utilipay.payments.rules import check_amount, fingerprint_of
from utilipay.payments.schemas import Payment, PaymentCommand

_REFUSALS = {
    OutcomeCode.REPLAYED: ErrorCode.UNAUTHENTICATED,
    OutcomeCode.IDEMPOTENCY_CONFLICT: ErrorCode.IDEMPOTENCY_CONFLICT,
    OutcomeCode.ACCOUNT_NOT_FOUND: ErrorCode.ACCOUNT_NOT_FOUND,
    OutcomeCode.NO_BILL_DUE: ErrorCode.NO_BILL_DUE,
    OutcomeCode.BILL_NOT_FOUND: ErrorCode.NOT_FOUND,
    OutcomeCode.BILL_ALREADY_PAID: ErrorCode.BILL_ALREADY_PAID,
    OutcomeCode.AMOUNT_MISMATCH: ErrorCode.AMOUNT_MISMATCH,
    OutcomeCode.NOT_PREPAID: ErrorCode.NO_BILL_DUE,
    OutcomeCode.FLOAT_INSUFFICIENT: ErrorCode.FLOAT_INSUFFICIENT,
}


@dataclass(frozen=True, slots=True)
class PaymentResult:
    payment: Payment
    created: bool  # False: the same order was already taken, this is its payment


class WriteOffPath(Protocol):
    async def pay(self, command: PaymentCommand, biller_code: CodeOfBiller) -> PaymentResult: ...


class TopUps(Protocol):
    async def top_up(self, payment: HostedPayment) -> Outcome: ...


class HostedWriteOff:
    """The biller's books are the hub's tables: accept, write off and book in one transaction.
    A payment for a prepaid account, which has no bills, tops its balance up. A terminal's
    payment is booked against its outlet's float, taken in the same transaction."""

    def __init__(self, hosted: HostedPayments, top_ups: TopUps | None = None) -> None:
        self._hosted = hosted
        self._top_ups = top_ups

    async def pay(self, command: PaymentCommand, biller_code: CodeOfBiller) -> PaymentResult:
        terminal = command.terminal
        item = HostedPayment(
            id=new_id("P"),
            channel_id=command.channel.id,
            nonce=command.nonce,
            order_id=command.order_id,
            request_hash=fingerprint_of(command),
            biller_id=command.biller.id,
            account_no=command.account_no,
            amount=command.amount,
            bill_nos=command.bill_nos,
            payer=command.payer,
            receivable_account=(
                terminal.float_account if terminal else command.channel.receivable_account_id
            ),
            payable_account=command.biller.payable_account_id,
            terminal=terminal.as_json() if terminal else None,
        )
        if command.purpose == "prepaid_topup" and self._top_ups:  # an automatic top-up
            outcome = await self._top_ups.top_up(item)
        else:
            outcome = await self._hosted.pay(item)
        if outcome.outcome is OutcomeCode.NO_BILL_DUE and item.bill_nos is None and self._top_ups:
            topped = await self._top_ups.top_up(item)
            outcome = outcome if topped.outcome is OutcomeCode.NOT_PREPAID else topped
        if outcome.outcome in _REFUSALS:
            raise DomainError(_REFUSALS[outcome.outcome], outcome.detail or outcome.outcome)
        if outcome.payment is None:
            raise RuntimeError(f"pay_hosted answered {outcome.outcome} without a payment")
        payment = outcome.payment.for_channel(biller_code)
        return PaymentResult(payment, created=outcome.outcome is OutcomeCode.CREATED)


WriteOffPaths = Mapping[IntegrationMode, WriteOffPath]


class PaymentsHost(BillerHost, Protocol):
    """What taking a payment over HTTP needs of the running hub: its write-off paths."""

    @property
    def write_off_paths(self) -> WriteOffPaths: ...


def validate(paths: WriteOffPaths, command: PaymentCommand) -> WriteOffPath:
    """The checks that need no database; refusals here touch nothing."""
    command.biller.rule.check(command.biller.code, command.account_no)
    check_amount(command.biller, command.amount)
    path = paths.get(command.biller.mode)
    if path is None:
        raise DomainError(
            ErrorCode.BILLER_UNAVAILABLE, f"biller {command.biller.code} cannot take payments"
        )
    return path


async def pay(
    paths: WriteOffPaths, command: PaymentCommand, biller_code: CodeOfBiller
) -> PaymentResult:
    """Take one payment; its write-off path owns the transaction(s) it needs."""
    return await validate(paths, command).pay(command, biller_code)


async def find(
    conn: AsyncConnection,
    channel_id: int,
    biller_code: CodeOfBiller,
    *,
    payment_id: str | None = None,
    order_id: str | None = None,
) -> Payment:
    """A channel's own payment, by the hub's id or the channel's order id."""
    if payment_id is not None:
        found = await repository.by_id(conn, payment_id)
    elif order_id is not None:
        found = await repository.by_order(conn, channel_id, order_id)
    else:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "give a payment id or an order_id")
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such payment")
    if found.channel_id != channel_id:
        raise DomainError(ErrorCode.FORBIDDEN, "this payment belongs to another channel")
    return found.for_channel(biller_code)
