"""Payments counted per minute of their creation, utility, channel and status, with their
latency (``payment_minutes``), so ``/metrics`` and the console can compare the last
minutes of each channel of each utility with the same minutes of recent days (anomaly
monitoring, ``metrics/anomalies.py``) from a few index entries.

Kept like ``payment_rollups`` (0028): the payments' statement triggers
(``payments/sql/minutes.sql``) add one row per statement and key, never update a shared
counter; the worker folds a key's rows into one and drops the minutes older than the
retention. This revision counts the payments of that retention already there, holding
off writers of payments until the triggers exist (they come with the files, in this
migration's transaction).

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE payment_minutes (
    biller_id integer NOT NULL REFERENCES billers (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    minute timestamptz NOT NULL,
    channel_id integer NOT NULL REFERENCES channels (id),
    status text NOT NULL,
    payments bigint NOT NULL,
    amount bigint NOT NULL,
    -- of the finished payments (every status but PROCESSING): the sum of created ->
    -- finished, and how many took at most each bound (a cumulative histogram)
    latency_ms bigint NOT NULL,
    within_500ms bigint NOT NULL,
    within_1s bigint NOT NULL,
    within_2s bigint NOT NULL,
    within_5s bigint NOT NULL,
    within_10s bigint NOT NULL,
    within_30s bigint NOT NULL,
    folded boolean NOT NULL,
    PRIMARY KEY (biller_id, id)
);
-- a scrape's read: the last minutes and the same minutes of recent days, covered
CREATE INDEX payment_minutes_by_minute
    ON payment_minutes (minute, biller_id, channel_id, status)
    INCLUDE (payments, amount, latency_ms, within_500ms, within_1s, within_2s, within_5s,
             within_10s, within_30s);
-- what the fold has to do
CREATE INDEX payment_minutes_unfolded
    ON payment_minutes (biller_id, minute, channel_id, status) WHERE NOT folded;
-- no payment is written between the count and the triggers (the files, at the end of
-- this transaction)
LOCK TABLE payments IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO payment_minutes (biller_id, minute, channel_id, status, payments, amount,
                             latency_ms, within_500ms, within_1s, within_2s, within_5s,
                             within_10s, within_30s, folded)
SELECT biller_id, date_trunc('minute', created_at), channel_id, status, count(*),
       sum(amount), coalesce(sum(ms), 0), count(*) FILTER (WHERE ms <= 500),
       count(*) FILTER (WHERE ms <= 1000), count(*) FILTER (WHERE ms <= 2000),
       count(*) FILTER (WHERE ms <= 5000), count(*) FILTER (WHERE ms <= 10000),
       count(*) FILTER (WHERE ms <= 30000), true
  FROM payments
 CROSS JOIN LATERAL (
       SELECT round(extract(epoch FROM finished_at - created_at) * 1000)::bigint AS ms) l
 WHERE created_at >= now() - interval '15 days'
 GROUP BY 1, 2, 3, 4;
"""

DOWN = """
DROP TRIGGER IF EXISTS payments_minutes_inserted ON payments;
DROP TRIGGER IF EXISTS payments_minutes_updated ON payments;
DROP TRIGGER IF EXISTS payments_minutes_deleted ON payments;
DROP FUNCTION IF EXISTS payments_minutes_inserted(), payments_minutes_updated(),
    payments_minutes_deleted(), payment_minutes_fold(timestamptz);
-- added to the files since (payments/sql/minutes.sql): it writes the table, so it goes too
DROP FUNCTION IF EXISTS payment_minutes_add(payments[]);
DROP TABLE payment_minutes;
DROP FUNCTION IF EXISTS payment_latency_ms(timestamptz, timestamptz);
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
