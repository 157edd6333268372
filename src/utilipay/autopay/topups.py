"""Automatic top-up (自动充值): a debit of the mandate's recharge amount when a prepaid
balance falls below its reminder amount, at most once per low-balance episode.

Set-based, in the auto-pay engine's pass: every account that is not NORMAL, with
an ACTIVE mandate that names a top-up amount and no top-up yet for its current
episode, gets one debit (``purpose = 'prepaid_topup'``, no bills) and its
pre-debit notice. The unique index on (biller, account, episode) makes a second
pass, or two at once, add nothing. The debits are then sent like auto-pay's
(``autopay/send.py``), on any day between 07:00 and 22:00, and a successful one
tops the balance up through the same payment machinery as a channel's top-up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.calendar.windows import topup_window

_SCHEDULE = text(
    """
    WITH new_debits AS (
        INSERT INTO debits (biller_id, id, mandate_id, channel_id, payer, account_no, purpose,
                            bill_nos, amount, status, issued_at, planned_at, deadline,
                            next_attempt_at, episode, created_at)
        SELECT m.biller_id, 'D' || lpad(nextval('debit_seq')::text, 12, '0'), m.id,
               m.channel_id, m.payer, m.account_no, 'prepaid_topup', '{}', m.topup_amount,
               'SCHEDULED', :now, :planned, :deadline, :planned, pa.episode, :now
          FROM prepaid_balances pa
          JOIN mandates m ON m.biller_id = pa.biller_id AND m.account_no = pa.account_no
         WHERE pa.state <> 'NORMAL' AND m.status = 'ACTIVE' AND m.topup_amount IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM debits d
                            WHERE d.biller_id = pa.biller_id AND d.account_no = pa.account_no
                              AND d.episode = pa.episode AND d.purpose = 'prepaid_topup')
        ON CONFLICT DO NOTHING
        RETURNING *
    )
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT n.biller_id, 'debit.scheduled', n.id,
           debit_event(n) || jsonb_build_object('balance', pa.balance, 'state', pa.state), :now
      FROM new_debits n
      JOIN prepaid_balances pa ON pa.biller_id = n.biller_id AND pa.account_no = n.account_no
    """
)


async def schedule_topups(conn: AsyncConnection, now: datetime) -> int:
    """A top-up debit for every low balance with a mandate; how many were scheduled."""
    window = topup_window(now)
    values = {"now": now, "planned": window.planned_at, "deadline": window.deadline}
    return (await conn.execute(_SCHEDULE, values)).rowcount
