"""Due-date reminders: a ``bill.due_soon`` event for each unpaid hosted bill due a set number
of days after today (the Asia/Shanghai business date), at most once per bill and number.

``bill_reminders`` remembers what was announced, in the statement that announces
it, so the pass can run as often as the worker likes and concurrently with itself.
Suspended billers take no payments: their payers are not asked to pay.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import Clock, business_date

# One statement, so a bill is remembered if and only if its event is written; in SQL
# because a utility's billing day can make a very large batch of reminders.
_REMIND = text(
    """
    WITH reminded AS (
        INSERT INTO bill_reminders (biller_id, bill_no, days_before, created_at)
        SELECT b.biller_id, b.bill_no, :days_before, :now
          FROM billing_bills b JOIN billers_directory r ON r.id = b.biller_id
         WHERE b.due_date = :due_date AND b.status = 'UNPAID' AND r.status = 'ACTIVE'
        ON CONFLICT DO NOTHING
        RETURNING biller_id, bill_no
    )
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT b.biller_id, 'bill.due_soon', b.bill_no,
           jsonb_build_object(
               'biller', r.code, 'account_no', b.account_no, 'bill_no', b.bill_no,
               'amount', b.amount,
               'late_fee', bill_late_fee(b.biller_id, b.bill_no, CAST(:due_date AS date)
                                                                 - CAST(:days_before AS integer)),
               'due_date', to_char(b.due_date, 'YYYY-MM-DD'),
               'days_left', CAST(:days_before AS integer)),
           :now
      FROM reminded JOIN billing_bills b USING (biller_id, bill_no)
      JOIN billers_directory r ON r.id = b.biller_id
     ORDER BY b.biller_id, b.bill_no
    """
)


async def remind_due_bills(engine: AsyncEngine, clock: Clock, days_before: int) -> int:
    """Announce the bills due in ``days_before`` days not announced yet; how many."""
    if days_before < 0:
        raise ValueError(f"days_before must not be negative, got {days_before}")
    now = clock.now()
    async with engine.begin() as conn:
        result = await conn.execute(
            _REMIND,
            {
                "days_before": days_before,
                "now": now,
                "due_date": business_date(now) + timedelta(days=days_before),
            },
        )
    return result.rowcount
