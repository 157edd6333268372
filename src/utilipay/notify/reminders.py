"""Due-date reminders: a ``bill.due_soon`` event for each unpaid hosted bill due in as many
days (after today, the Asia/Shanghai business date) as someone told of it chose, at most
once per bill and number of days.

Whose choice (``choices``): a bound payer's binding, the account's, the utility's default,
the hub's (``UTILIPAY_REMIND_DAYS_BEFORE``). The pass asks for the few due dates some
choice names, then keeps the bills whose account, or a payer bound to it, wants a due-soon
reminder on that day; the outbox consumer then tells each recipient by its own choice.

``bill_reminders`` remembers what was announced, in the statement that announces
it, so the pass can run as often as the worker likes and concurrently with itself.
Suspended billers take no payments: their payers are not asked to pay.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.bindings.reminders import KINDS
from utilipay.clock import Clock, business_date

_EVERY_KIND = "ARRAY[" + ", ".join(f"'{k}'" for k in KINDS) + "]"

# Each active utility's defaults (a row of NULLs when it has none).
SETTINGS = """
    settings AS (
        SELECT r.id AS biller_id, r.code, df.kinds, df.days_before,
               coalesce(df.overdue_days, '{}') AS overdue_days
          FROM billers_directory r LEFT JOIN reminder_defaults df ON df.biller_id = r.id
         WHERE r.status = 'ACTIVE'
    )"""


def wanted(kind: str, *, on_days_left: bool) -> str:
    """Whether the account of candidate ``c`` (its utility's ``s``, its own choice ``ac``),
    or a payer bound to it, wants this kind of reminder (on day ``c.days_left``)."""
    account_day = "AND coalesce(ac.days_before, s.days_before, :hub_days) = c.days_left"
    binding_day = (
        "AND coalesce(bd.remind_days_before, ac.days_before, s.days_before, :hub_days)"
        " = c.days_left"
    )
    return f"""
        ('{kind}' = ANY (coalesce(ac.kinds, s.kinds, {_EVERY_KIND}))
             {account_day if on_days_left else ""}
         OR EXISTS (
            SELECT 1 FROM bindings_live bd
             WHERE bd.biller_id = c.biller_id AND bd.account_no = c.account_no
               AND '{kind}' = ANY (coalesce(bd.remind_kinds, ac.kinds, s.kinds, {_EVERY_KIND}))
               {binding_day if on_days_left else ""}))"""  # noqa: S608 - constants, never input


# One statement, so a bill is remembered if and only if its event is written; in SQL
# because a utility's billing day can make a very large batch of reminders.
_REMIND = text(
    f"""
    WITH {SETTINGS},
    days AS (  -- every number of days some choice names, per utility
        SELECT biller_id, coalesce(days_before, :hub_days) AS days FROM settings
        UNION
        SELECT c.biller_id, c.days_before FROM reminder_choices c JOIN settings USING (biller_id)
         WHERE c.days_before IS NOT NULL
        UNION
        SELECT bd.biller_id, bd.remind_days_before FROM bindings_live bd
          JOIN settings USING (biller_id)
         WHERE bd.remind_days_before IS NOT NULL
    ),
    candidates AS (
        SELECT b.biller_id, b.bill_no, b.account_no, d.days AS days_left
          FROM days d JOIN billing_bills b
            ON b.biller_id = d.biller_id AND b.status = 'UNPAID'
           AND b.due_date = CAST(:today AS date) + d.days
    ),
    reminded AS (
        INSERT INTO bill_reminders (biller_id, bill_no, days_before, created_at)
        SELECT c.biller_id, c.bill_no, c.days_left, :now
          FROM candidates c JOIN settings s USING (biller_id)
          LEFT JOIN reminder_choices ac
            ON ac.biller_id = c.biller_id AND ac.account_no = c.account_no
         WHERE {wanted("due_soon", on_days_left=True)}
        ON CONFLICT DO NOTHING
        RETURNING biller_id, bill_no, days_before
    )
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT b.biller_id, 'bill.due_soon', b.bill_no,
           jsonb_build_object(
               'biller', r.code, 'account_no', b.account_no, 'bill_no', b.bill_no,
               'amount', b.amount,
               -- the bill's row is held: a bill not due yet without an imported fee has
               -- none, and nothing more is read for it (billing/sql/late_fees.sql)
               'late_fee', bill_late_fee_of(b.biller_id, b.bill_no, b.due_date, b.late_fee,
                                            CAST(:today AS date)),
               'due_date', to_char(b.due_date, 'YYYY-MM-DD'),
               'days_left', reminded.days_before),
           :now
      FROM reminded JOIN billing_bills b USING (biller_id, bill_no)
      JOIN billers_directory r ON r.id = b.biller_id
     ORDER BY b.biller_id, b.bill_no, reminded.days_before
    """  # noqa: S608 - the module's own constants, never input
)


async def remind_due_bills(engine: AsyncEngine, clock: Clock, days_before: int) -> int:
    """Announce the bills due in as many days as a choice in force says (``days_before``:
    the hub's default) not announced yet; how many reminders."""
    if days_before < 0:
        raise ValueError(f"days_before must not be negative, got {days_before}")
    now = clock.now()
    async with engine.begin() as conn:
        result = await conn.execute(
            _REMIND, {"hub_days": days_before, "now": now, "today": business_date(now)}
        )
    return result.rowcount
