"""Topping a prepaid balance up through the channel API.

A channel pays a prepaid account like any other: ``POST /v1/payments`` without
``bill_nos``. A prepaid account has no bills due, so where a postpaid account
would be refused with NO_BILL_DUE, the amount goes to its balance instead: one
database call (``prepaid_top_up``, ``sql/top_up.sql``) records the payment, books it,
moves the balance and the state, asks for a reconnect when it ends a cut and
grants the month's reward. The nonce and the order id were already checked by
``pay_hosted``, which is asked first, so the hot path for bills is untouched.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import Clock, business_date
from utilipay.db.engine import raw_connection
from utilipay.payments.hosted import HostedPayment, Outcome

_TOP_UP = """
SELECT r.outcome, r.detail, (r.payment).*
  FROM prepaid_top_up($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) r
"""


class TopUps:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def top_up(self, p: HostedPayment) -> Outcome:
        """CREATED, EXISTING, IDEMPOTENCY_CONFLICT, NOT_PREPAID or (a terminal's top-up)
        FLOAT_INSUFFICIENT."""
        now = self._clock.now()
        async with self._engine.begin() as conn:
            row = await (await raw_connection(conn)).fetchrow(
                _TOP_UP, p.id, p.channel_id, p.order_id, p.request_hash, p.biller_id,
                p.account_no, p.amount, p.payer, now, f"R{business_date(now):%Y%m%d}",
                p.receivable_account, p.terminal,
            )  # fmt: skip
        return Outcome.of(row)
