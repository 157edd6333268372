"""Payment rules that need no database: amount range, bill list, idempotency fingerprint."""

from __future__ import annotations

import hashlib

from utilipay.billers.schemas import Biller
from utilipay.errors import DomainError, ErrorCode
from utilipay.outlets.terminals import TerminalPayment
from utilipay.payments.schemas import PaymentCommand


def check_amount(biller: Biller, amount: int) -> int:
    if not biller.min_payment <= amount <= biller.max_payment:
        raise DomainError(
            ErrorCode.AMOUNT_OUT_OF_RANGE,
            f"amount {amount} fen is outside {biller.code}'s range "
            f"{biller.min_payment}..{biller.max_payment}",
        )
    return amount


def check_bill_nos(bill_nos: list[str] | None) -> tuple[str, ...] | None:
    if bill_nos is None:
        return None
    if len(set(bill_nos)) != len(bill_nos):
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "bill_nos lists a bill twice")
    return tuple(bill_nos)


def request_fingerprint(
    biller: str,
    account_no: str,
    amount: int,
    bill_nos: tuple[str, ...] | None,
    payer: str,
    terminal: TerminalPayment | None = None,
) -> bytes:
    """What makes two requests with one order id "the same body" (order of bill_nos aside);
    a terminal's operator, tender and collection time are part of it."""
    bills = ",".join(sorted(bill_nos)) if bill_nos is not None else "*"
    parts = [biller, account_no, str(amount), bills, payer]
    if terminal is not None:
        collected = terminal.collected_at.isoformat() if terminal.collected_at else ""
        parts += [terminal.operator or "", terminal.tender.value, collected]
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def fingerprint_of(command: PaymentCommand) -> bytes:
    return request_fingerprint(
        command.biller.code,
        command.account_no,
        command.amount,
        command.bill_nos,
        command.payer,
        command.terminal,
    )
