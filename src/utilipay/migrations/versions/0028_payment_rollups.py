"""Payments counted per business day, utility, channel and status (``payment_rollups``), so
the console's dashboard reads today's, this month's and the last 30 days' figures from a
few index entries instead of a million payments.

The rows are added by the payments' statement triggers (``payments/sql/rollups.sql``) in
the transaction that writes a payment or changes its status: one row per statement and
key, never an update of a shared counter, so concurrent payments never wait on each other
for it. The worker folds the rows of a key into one (``payment_rollups_fold``); a sum over
a key is the same before and after. This revision counts the payments already there,
holding off writers of payments until the triggers exist (they come with the files, in
this migration's transaction).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE payment_rollups (
    biller_id integer NOT NULL REFERENCES billers (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    business_date date NOT NULL,
    channel_id integer NOT NULL REFERENCES channels (id),
    status text NOT NULL,
    payments bigint NOT NULL,
    amount bigint NOT NULL,
    folded boolean NOT NULL,
    PRIMARY KEY (biller_id, id)
);
-- the dashboard's read: a range of days, every utility or a few, covered
CREATE INDEX payment_rollups_by_day
    ON payment_rollups (business_date, biller_id, channel_id, status) INCLUDE (payments, amount);
-- what the fold has to do
CREATE INDEX payment_rollups_unfolded
    ON payment_rollups (biller_id, business_date, channel_id, status) WHERE NOT folded;
-- no payment is written between the count and the triggers (the files, at the end of
-- this transaction)
LOCK TABLE payments IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO payment_rollups (biller_id, business_date, channel_id, status, payments, amount,
                             folded)
SELECT biller_id, (created_at AT TIME ZONE 'Asia/Shanghai')::date, channel_id, status,
       count(*), sum(amount), true
  FROM payments
 GROUP BY 1, 2, 3, 4;
"""

DOWN = """
DROP TRIGGER IF EXISTS payments_rollup_inserted ON payments;
DROP TRIGGER IF EXISTS payments_rollup_updated ON payments;
DROP TRIGGER IF EXISTS payments_rollup_deleted ON payments;
DROP FUNCTION IF EXISTS payments_rollup_inserted(), payments_rollup_updated(),
    payments_rollup_deleted(), payment_rollups_fold();
-- added to the files since (payments/sql/rollups.sql): they write the table, so they go too
DROP FUNCTION IF EXISTS payment_rollups_add(payments[]), payments_count_later(),
    payments_counted(payments[]);
DROP TABLE payment_rollups;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
