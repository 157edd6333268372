"""Scheduling auto-pay debits: one set-based statement for every new bill of every mandate.

A bill qualifies when its account has an ACTIVE mandate signed before the bill
was issued and it has no debit yet: hosted bills (``bills``) and the bills the
hub's polls found at remote billers (``observed_bills``, except those already
due when the mandate was signed). Each gets one debit — SCHEDULED inside its
window (``autopay_window``, the SQL twin of ``autopay/window.py``), or
SKIPPED as OVER_CAP — and the matching outbox event (the pre-debit notice, or
the skip), in the same statement. The unique index on (biller, bill) makes a
second run, or two at once, add nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_SCHEDULE = text(
    """
    WITH candidates AS (
        SELECT m.biller_id, m.id AS mandate_id, m.channel_id, m.payer, m.account_no, m.cap,
               b.bill_no, b.issued_at,
               b.amount + bill_late_fee_of(
                   b.biller_id, b.bill_no, b.due_date, b.late_fee,
                   (CAST(:now AS timestamptz) AT TIME ZONE 'Asia/Shanghai')::date) AS total
          FROM mandates m
          JOIN billing_bills b ON b.biller_id = m.biller_id AND b.account_no = m.account_no
         WHERE m.status = 'ACTIVE' AND b.status = 'UNPAID' AND b.issued_at > m.signed_at
        UNION ALL
        SELECT m.biller_id, m.id, m.channel_id, m.payer, m.account_no, m.cap,
               o.bill_no, o.first_seen_at, o.amount + o.late_fee
          FROM mandates m
          JOIN observed_bills o ON o.biller_id = m.biller_id AND o.account_no = m.account_no
         WHERE m.status = 'ACTIVE' AND NOT o.before_mandate AND o.first_seen_at > m.signed_at
    ),
    -- a window per issue time, not per bill: a bill run issues thousands at one instant
    windows AS MATERIALIZED (
        SELECT t.issued_at, t.debit_notice_s, w.planned_at, w.deadline
          FROM (SELECT DISTINCT c.issued_at, bl.debit_notice_s
                  FROM candidates c JOIN billers_directory bl ON bl.id = c.biller_id) t
         CROSS JOIN LATERAL autopay_window(t.issued_at, t.debit_notice_s) w
    ),
    new_debits AS (
        INSERT INTO debits (biller_id, id, mandate_id, channel_id, payer, account_no, purpose,
                            bill_nos, amount, status, reason, issued_at, planned_at, deadline,
                            next_attempt_at, created_at, finished_at)
        SELECT c.biller_id, 'D' || lpad(nextval('debit_seq')::text, 12, '0'), c.mandate_id,
               c.channel_id, c.payer, c.account_no, 'autopay', ARRAY[c.bill_no], c.total,
               CASE WHEN c.total > c.cap THEN 'SKIPPED' ELSE 'SCHEDULED' END,
               CASE WHEN c.total > c.cap THEN 'OVER_CAP' END,
               c.issued_at, w.planned_at, w.deadline,
               CASE WHEN c.total > c.cap THEN NULL ELSE w.planned_at END,
               :now,
               CASE WHEN c.total > c.cap THEN CAST(:now AS timestamptz) END
          FROM candidates c
          JOIN billers_directory bl ON bl.id = c.biller_id
          JOIN windows w ON w.issued_at = c.issued_at AND w.debit_notice_s = bl.debit_notice_s
         WHERE NOT EXISTS (SELECT 1 FROM debits d
                            WHERE d.biller_id = c.biller_id AND d.bill_nos[1] = c.bill_no
                              AND d.purpose = 'autopay')
        ON CONFLICT DO NOTHING
        RETURNING *
    ),
    events AS (
        INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
        SELECT n.biller_id,
               CASE n.status WHEN 'SKIPPED' THEN 'debit.skipped' ELSE 'debit.scheduled' END,
               n.id, debit_event(n) || jsonb_build_object('cap', m.cap), :now
          FROM new_debits n
          JOIN mandates m ON m.biller_id = n.biller_id AND m.id = n.mandate_id
        RETURNING event_type
    )
    SELECT event_type, count(*) AS n FROM events GROUP BY event_type
    """
)


async def schedule_debits(conn: AsyncConnection, now: datetime) -> dict[str, int]:
    """Debits for every qualifying new bill; the number scheduled and skipped."""
    rows = await conn.execute(_SCHEDULE, {"now": now})
    return {r.event_type.removeprefix("debit."): r.n for r in rows}
