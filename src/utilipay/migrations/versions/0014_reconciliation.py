"""Three-way reconciliation runs, their classified records and corrections (issue 6).

- ``recon_runs``: one matching of a business day (Asia/Shanghai), optionally one
  channel's or one biller's: who ran it, the cut-off window, the counts per class,
  the statements it read and those it found missing.
- ``recon_items``: every record the run classified, one per order (the hub's
  payment, the channel's line, the utility's line side by side), with its class.
- ``recon_corrections``: what a break calls for, proposed with its evidence and
  applied at most once (``idempotency_key`` = run, channel, order id, action).
- ``refunds`` (shared contract 2): money the channel took for a payment the hub
  failed, to go back to the payer; ``refund.opened`` tells the channel.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE recon_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_date date NOT NULL,
    channel_code text,  -- NULL: every channel with a statement for the day
    biller_code text,  -- NULL: every biller
    cutoff_s integer NOT NULL CHECK (cutoff_s BETWEEN 0 AND 7200),
    actor text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    records bigint NOT NULL,
    counts jsonb NOT NULL,  -- records per class
    sources jsonb NOT NULL  -- statements read, statements missing
);
CREATE INDEX recon_runs_by_date ON recon_runs (business_date, id);

CREATE TABLE recon_items (
    run_id bigint NOT NULL REFERENCES recon_runs (id),
    item_no bigint NOT NULL,
    class text NOT NULL CHECK (class IN ('MATCHED', 'CHANNEL_ONLY', 'HUB_ONLY', 'AMOUNT_MISMATCH',
                                         'STATUS_MISMATCH', 'DUPLICATE', 'CARRIED')),
    action text CHECK (action IN ('RECONFIRM', 'REVERSE', 'REFUND', 'EXCEPTION')),
    channel_code text,
    order_id text,  -- the channel's order id; NULL for a utility line the hub does not know
    biller_id integer,
    payment_id text,
    hub_status text,
    hub_amount bigint,
    hub_at timestamptz,
    channel_lines integer NOT NULL,  -- net PAID lines (a REFUNDED line cancels one)
    channel_amount bigint,
    channel_at timestamptz,
    channel_line text,  -- import_id:line_no of the first line
    utility_lines integer NOT NULL,
    utility_status text,
    utility_amount bigint,
    utility_at timestamptz,
    utility_line text,
    carried_to date,
    PRIMARY KEY (run_id, item_no)
);
CREATE INDEX recon_items_breaks ON recon_items (run_id, class, item_no) WHERE class <> 'MATCHED';

CREATE TABLE recon_corrections (
    run_id bigint NOT NULL,
    item_no bigint NOT NULL,
    action text NOT NULL CHECK (action IN ('RECONFIRM', 'REVERSE', 'REFUND', 'EXCEPTION')),
    idempotency_key text NOT NULL UNIQUE,
    class text NOT NULL,
    biller_id integer,
    payment_id text,
    channel_code text,
    order_id text NOT NULL,
    evidence jsonb NOT NULL,
    status text NOT NULL DEFAULT 'PROPOSED' CHECK (status IN ('PROPOSED', 'APPLIED')),
    outcome text,
    applied_at timestamptz,
    applied_by text,
    reason text,
    PRIMARY KEY (run_id, item_no),
    FOREIGN KEY (run_id, item_no) REFERENCES recon_items,
    CHECK ((status = 'APPLIED') = (applied_at IS NOT NULL AND applied_by IS NOT NULL
                                   AND outcome IS NOT NULL AND reason IS NOT NULL))
);

CREATE TABLE refunds (
    biller_id integer NOT NULL REFERENCES billers (id),
    id text NOT NULL,
    payment_id text,
    channel_id integer NOT NULL REFERENCES channels (id),
    order_id text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    reason text NOT NULL,
    status text NOT NULL CHECK (status IN ('OPEN', 'SENT', 'DONE')),
    created_at timestamptz NOT NULL,
    business_date date NOT NULL,
    PRIMARY KEY (biller_id, id)
);
-- one refund per channel order, whichever run or person opens it
CREATE UNIQUE INDEX refunds_one_per_order ON refunds (biller_id, channel_id, order_id);
CREATE INDEX refunds_by_day ON refunds (biller_id, business_date);
"""


def upgrade() -> None:
    op.execute(TABLES)


def downgrade() -> None:
    op.execute("DROP TABLE refunds, recon_corrections, recon_items, recon_runs")
