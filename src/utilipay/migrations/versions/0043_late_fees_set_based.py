"""The late fee computed set-based (issue 13's overdue pass): ``late_fee_rule_for`` becomes
an inlinable set-returning function and ``bill_late_fees(biller, on)`` the fee of every bill
of a utility, which a query joins on the bills it needs (``billing/sql/late_fees.sql``);
``late_fee_accrued``, a function call per bill, goes. A function's return type cannot be
replaced, so the old two are dropped here (if there: the files that define them run after
the migrations, so a database built fresh never had them) and the files define the new.
Downgrade drops the new ones and gives back the three as revision 0039's files had them.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

UP = """
DROP FUNCTION IF EXISTS late_fee_accrued(integer, text, bigint, date, date);
DROP FUNCTION IF EXISTS late_fee_rule_for(integer, text, date);
"""

# revision 0039's bodies (billing/sql/late_fees.sql as it was then)
DOWN = """
DROP FUNCTION IF EXISTS bill_late_fees(integer, date);
DROP FUNCTION IF EXISTS late_fee_rule_for(integer, text, date);

CREATE OR REPLACE FUNCTION late_fee_rule_for(p_biller_id integer, p_class text, p_due date)
RETURNS late_fee_rules LANGUAGE sql STABLE AS $$
    SELECT * FROM late_fee_rules r
     WHERE r.biller_id = p_biller_id AND r.effective_from <= p_due
       AND (r.effective_to IS NULL OR p_due <= r.effective_to)
       AND (r.customer_class = p_class OR r.customer_class IS NULL)
     ORDER BY r.customer_class NULLS LAST
     LIMIT 1
$$;

CREATE OR REPLACE FUNCTION late_fee_accrued(
    p_biller_id integer, p_class text, p_principal bigint, p_due date, p_on date
) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce((
        SELECT round(least(p_principal * r.daily_per_mille
                               * late_fee_days(r.basis, r.grace_days, p_due, p_on) * 0.001,
                           r.cap_fen, p_principal * r.cap_percent * 0.01))::bigint
          FROM late_fee_rule_for(p_biller_id, p_class, p_due) r
         WHERE r.biller_id IS NOT NULL), 0)
$$;

CREATE OR REPLACE FUNCTION bill_late_fee(p_biller_id integer, p_bill_no text, p_on date)
RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT late_fee_accrued(b.biller_id, a.customer_class, b.amount, b.due_date,
                            least(p_on, (b.paid_at AT TIME ZONE 'Asia/Shanghai')::date))
           + b.late_fee
           - coalesce((SELECT sum(w.amount) FROM late_fee_waivers w
                        WHERE w.biller_id = b.biller_id AND w.bill_no = b.bill_no
                          AND w.business_date <= p_on), 0)::bigint
      FROM bills b
      JOIN customer_accounts a ON a.biller_id = b.biller_id AND a.account_no = b.account_no
     WHERE b.biller_id = p_biller_id AND b.bill_no = p_bill_no
$$;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
