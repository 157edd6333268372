"""Collection management's daily figures (``collection_days``) and the days already closed
(``collection_closed_days``), so a report reads a few rows per utility and day instead of
the history of bills and payments.

A day's rows are made once, by the worker's close of the business day (``collection/
days.py``), from index ranges of that day only: bills issued, payments finished and
voided, bills unpaid at its end (the arrears by age), mandates signed and cancelled,
debits finished, meter commands decided and executed. The indexes below are those
ranges; the views are what the owners of those tables publish for it (the house rule of
0024), each documented in its owner's ``tables`` module.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

VIEWS = {
    "channels_kinds": "SELECT id, code, name, kind FROM channels",
    "outlets_directory": "SELECT id, channel_id, code, name, kind, region FROM outlets",
    "autopay_mandate_dates": """
        SELECT biller_id, id, channel_id, signed_at, cancelled_at FROM mandates""",
    "autopay_debit_outcomes": """
        SELECT biller_id, id, channel_id, purpose, amount, status, reason, finished_at
          FROM debits WHERE finished_at IS NOT NULL""",
    "headend_command_times": """
        SELECT biller_id, id, account_no, action, status, decided_at, executed_at
          FROM meter_commands""",
    "prepaid_states": """
        SELECT biller_id, account_no, state, state_since, outage_warned_at FROM prepaid_accounts""",
}

UP = """
CREATE TABLE collection_days (
    biller_id integer NOT NULL REFERENCES billers (id),
    business_date date NOT NULL,
    metric text NOT NULL,
    channel_id integer NOT NULL,  -- 0: not by channel
    outlet_id integer NOT NULL,  -- 0: not at an outlet
    key text NOT NULL,  -- the metric's own key ('' none): channel-mix class, age bucket, state
    n bigint NOT NULL,  -- payments, bills, accounts, mandates, debits, commands
    bills bigint NOT NULL,
    amount bigint NOT NULL,  -- fen
    seconds bigint NOT NULL,  -- a duration summed (warning to cut, reconnect)
    PRIMARY KEY (biller_id, business_date, metric, channel_id, outlet_id, key)
);
CREATE INDEX collection_days_by_day ON collection_days (business_date, biller_id);
CREATE TABLE collection_closed_days (
    business_date date PRIMARY KEY,
    closed_at timestamptz NOT NULL
);
-- the ranges of one day a close reads
CREATE INDEX bills_issued_by_day ON bills (biller_id, issued_at);
CREATE INDEX bills_paid_by_day ON bills (biller_id, paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX bills_unpaid_by_due ON bills (biller_id, due_date) WHERE status = 'UNPAID';
CREATE INDEX mandates_signed_by_day ON mandates (biller_id, signed_at);
CREATE INDEX mandates_cancelled_by_day ON mandates (biller_id, cancelled_at)
    WHERE cancelled_at IS NOT NULL;
CREATE INDEX debits_finished_by_day ON debits (biller_id, finished_at)
    WHERE finished_at IS NOT NULL;
CREATE INDEX meter_commands_executed_by_day ON meter_commands (biller_id, executed_at)
    WHERE executed_at IS NOT NULL;
"""

DOWN = """
DROP INDEX meter_commands_executed_by_day, debits_finished_by_day, mandates_cancelled_by_day,
    mandates_signed_by_day, bills_unpaid_by_due, bills_paid_by_day, bills_issued_by_day;
DROP TABLE collection_closed_days, collection_days;
"""


def upgrade() -> None:
    op.execute(UP)
    for name, query in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {query}")


def downgrade() -> None:
    op.execute(f"DROP VIEW {', '.join(VIEWS)}")
    op.execute(DOWN)
