"""Overdue notices (逾期提醒): on the days after the due date a utility's schedule names
(``reminder_defaults.overdue_days``, e.g. 1, 7 and 15), a ``bill.overdue`` event for each
of its unpaid hosted bills, with the amount, the days overdue and the late fee so far.

Each (bill, schedule day) at most once: ``overdue_notices`` remembers it in the statement
that writes the event, so concurrent passes cannot both announce it (the second waits on
the first's key and then skips it). A pass that did not run on the day (a worker down)
still announces a schedule day for ``CATCH_UP_DAYS`` after it, unless the next day of the
schedule has come: a payer gets the latest notice, never a stale one.

A bill paid after the pass and before its message is queued is not told (the consumer
asks again, ``consumers.still_unpaid``); the payer's choice of kinds is asked here and of
means by the consumer, as for the due-date reminders.

One set-based statement per utility: a utility's overdue bills are found through the
partial index of unpaid bills by due date, and written in one insert each.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import Clock, business_date
from utilipay.notify.reminders import SETTINGS, wanted

CATCH_UP_DAYS: Final = 3

_SCHEDULED = text(
    "SELECT biller_id FROM reminder_defaults WHERE cardinality(overdue_days) > 0 ORDER BY biller_id"
)

_NOTICE = text(
    f"""
    WITH {SETTINGS},
    steps AS (
        SELECT st.day,
               least(lead(st.day) OVER (ORDER BY st.day), st.day + :catch_up) AS until_day
          FROM settings s CROSS JOIN LATERAL unnest(s.overdue_days) AS st(day)
         WHERE s.biller_id = :biller_id
    ),
    ages AS MATERIALIZED (  -- each number of days overdue a schedule day covers, with it
        SELECT g AS age, st.day FROM steps st, generate_series(st.day, st.until_day - 1) g
    ),
    candidates AS MATERIALIZED (  -- read once, for the notices and for their events
        -- a bill meets its schedule day by equality on its age (a hash join), and only the
        -- due dates some day covers are read from the partial index of unpaid bills: a
        -- range join on the schedule compared each bill with every day of it
        SELECT b.biller_id, b.bill_no, b.account_no, b.period, b.amount, b.due_date, a.day
          FROM billing_bills b JOIN ages a ON a.age = CAST(:today AS date) - b.due_date
         WHERE b.biller_id = :biller_id AND b.status = 'UNPAID'
           AND b.due_date > CAST(:today AS date) - (SELECT max(age) + 1 FROM ages)
           AND b.due_date <= CAST(:today AS date) - (SELECT min(age) FROM ages)
    ),
    noticed AS (
        INSERT INTO overdue_notices (biller_id, bill_no, days_after, created_at)
        SELECT c.biller_id, c.bill_no, c.day, :now
          FROM candidates c JOIN settings s USING (biller_id)
          LEFT JOIN reminder_choices ac
            ON ac.biller_id = c.biller_id AND ac.account_no = c.account_no
         WHERE {wanted("overdue", on_days_left=False)}
        ON CONFLICT DO NOTHING
        RETURNING biller_id, bill_no, days_after
    )
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT b.biller_id, 'bill.overdue', b.bill_no,
           jsonb_build_object(
               'biller', s.code, 'account_no', b.account_no, 'bill_no', b.bill_no,
               'period', b.period, 'amount', b.amount,
               'late_fee', f.late_fee,
               'due_date', to_char(b.due_date, 'YYYY-MM-DD'),
               'days_overdue', CAST(:today AS date) - b.due_date,
               'schedule_day', n.days_after),
           :now
      FROM noticed n
      JOIN candidates b
        ON b.biller_id = n.biller_id AND b.bill_no = n.bill_no AND b.day = n.days_after
      JOIN settings s ON s.biller_id = b.biller_id
      -- the fee so far, by the utility's rule (billing/sql/late_fees.sql), set-based: for
      -- the bills noticed now only, not for every candidate already told
      JOIN bill_late_fees(:biller_id, CAST(:today AS date)) f ON f.bill_no = b.bill_no
    """  # noqa: S608 - the module's own constants, never input
)


async def send_overdue_notices(engine: AsyncEngine, clock: Clock) -> int:
    """Announce every utility's overdue bills its schedule says are due a notice today, one
    transaction per utility; how many notices."""
    now = clock.now()
    today = business_date(now)
    async with engine.connect() as conn:
        billers = list((await conn.execute(_SCHEDULED)).scalars())
    sent = 0
    for biller_id in billers:
        async with engine.begin() as conn:
            result = await conn.execute(
                _NOTICE,
                {
                    "biller_id": biller_id,
                    "today": today,
                    "now": now,
                    "catch_up": CATCH_UP_DAYS,
                },
            )
        sent += result.rowcount
    return sent
