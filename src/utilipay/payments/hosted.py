"""Writing off hosted bills: one database call per payment, or one per batch of them.

``BatchedHostedPayments`` sends the payment requests that queued while the previous
calls were running as one ``pay_hosted_batch`` call (``db.batches.Batcher``: one round
trip and one commit for the lot, each item with its own outcome).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import asyncpg

from utilipay.clock import business_date
from utilipay.db.batches import Batcher
from utilipay.payments.schemas import StoredPayment

_BATCH = """
SELECT r.item, r.outcome, r.detail, (r.payment).*
  FROM pay_hosted_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) r
"""


@dataclass(frozen=True, slots=True)
class HostedPayment:
    """One payment as the database takes it (see ``pay_hosted`` in ``sql/pay_hosted.sql``)."""

    id: str
    channel_id: int
    nonce: str | None
    order_id: str
    request_hash: bytes
    biller_id: int
    account_no: str
    amount: int
    bill_nos: tuple[str, ...] | None  # None: every outstanding bill
    payer: str
    receivable_account: int  # a terminal's payment: the outlet's float account
    payable_account: int
    terminal: str | None = None  # a terminal's payment: ``TerminalPayment.as_json``


class OutcomeCode(StrEnum):
    """Every answer of ``pay_hosted`` (``sql/pay_hosted.sql``) and of ``prepaid_top_up``
    (``prepaid/sql/top_up.sql``): a payment, or why there is none."""

    CREATED = "CREATED"
    EXISTING = "EXISTING"  # the same order, the same request: its payment
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    REPLAYED = "REPLAYED"  # the nonce was used before
    ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"
    NO_BILL_DUE = "NO_BILL_DUE"
    BILL_NOT_FOUND = "BILL_NOT_FOUND"
    BILL_ALREADY_PAID = "BILL_ALREADY_PAID"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    FLOAT_INSUFFICIENT = "FLOAT_INSUFFICIENT"  # a terminal's payment: the outlet's float
    NOT_PREPAID = "NOT_PREPAID"  # prepaid_top_up only: the account has no balance to top up


@dataclass(frozen=True, slots=True)
class Outcome:
    outcome: OutcomeCode
    detail: str | None
    payment: StoredPayment | None  # the payments row, when there is one

    @classmethod
    def of(cls, row: Any) -> Outcome:
        """From a row of ``outcome``, ``detail`` and the payment's columns (NULL for none)."""
        payment = StoredPayment.of(row) if row["id"] is not None else None
        return cls(OutcomeCode(row["outcome"]), row["detail"], payment)


class HostedPayments(Protocol):
    async def pay(self, payment: HostedPayment) -> Outcome: ...


class BatchedHostedPayments(Batcher[HostedPayment, Outcome]):
    """Each payment is its own transaction, shared with whatever queued beside it."""

    async def pay(self, payment: HostedPayment) -> Outcome:
        return await self.submit(payment)

    def _lock_order(self, item: HostedPayment) -> tuple[int, str]:
        # every payment locks only its own account's bills
        return item.biller_id, item.account_no

    async def _fetch(
        self, raw: asyncpg.Connection, items: list[HostedPayment]
    ) -> list[asyncpg.Record]:
        now = self._clock.now()
        rows: list[asyncpg.Record] = await raw.fetch(
            _BATCH,
            [p.id for p in items],
            [p.channel_id for p in items],
            [p.nonce for p in items],
            [p.order_id for p in items],
            [p.request_hash for p in items],
            [p.biller_id for p in items],
            [p.account_no for p in items],
            [p.amount for p in items],
            [",".join(p.bill_nos) if p.bill_nos is not None else None for p in items],
            [p.payer for p in items],
            [p.receivable_account for p in items],
            [p.payable_account for p in items],
            now,
            f"R{business_date(now):%Y%m%d}",
            # NULL for a batch of channel payments: their call is as it was before terminals
            [p.terminal for p in items] if any(p.terminal for p in items) else None,
        )
        return rows

    def _result(self, row: asyncpg.Record) -> Outcome:
        return Outcome.of(row)
