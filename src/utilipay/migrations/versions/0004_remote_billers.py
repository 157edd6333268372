"""Remote billers: connections, unknown outcomes and their resolution, webhooks, the job queue.

- ``biller_connections``: how to reach a remote biller (biller-protocol.md §1-2).
- payments gain their resolution state: when to ask the biller again, until
  when confirming is allowed before a reversal, and what happened last.
- ``bill_claims``: a remote bill in a live hub payment cannot be in a second one.
- ``biller_calls``: every protocol call, for the staff who untangle a payment.
- ``payment_exceptions``: reversals that could not be completed, for people.
- ``webhook_deliveries`` / ``webhook_attempts``: channel webhooks and their log.
- outbox events are marked when dispatched.
- procrastinate's own schema (its SQL, shipped with the pinned version).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE biller_connections (
    biller_id integer PRIMARY KEY REFERENCES billers (id),
    base_url text NOT NULL,
    sign_type text NOT NULL CHECK (sign_type IN ('SHA1', 'HMAC-SHA256')),
    key text NOT NULL CHECK (length(key) >= 8),
    previous_key text,
    platform text NOT NULL DEFAULT 'UTILIPAY',
    connect_timeout_ms integer NOT NULL DEFAULT 3000 CHECK (connect_timeout_ms > 0),
    total_timeout_ms integer NOT NULL DEFAULT 10000 CHECK (total_timeout_ms > 0),
    -- seconds between confirms; the last one repeats
    confirm_schedule integer[] NOT NULL DEFAULT '{5,30,120,600,1800}'
        CHECK (cardinality(confirm_schedule) > 0 AND 0 < ALL (confirm_schedule)),
    resolution_deadline_s integer NOT NULL DEFAULT 86400 CHECK (resolution_deadline_s > 0),
    -- refund attempts that may go unanswered before a person takes over
    max_refund_attempts integer NOT NULL DEFAULT 8 CHECK (max_refund_attempts > 0),
    updated_at timestamptz NOT NULL
);

ALTER TABLE payments
    ADD COLUMN resolution text CHECK (resolution IN ('CHARGING', 'CONFIRMING', 'REVERSING',
                                                     'EXCEPTION')),
    ADD COLUMN next_check_at timestamptz,
    ADD COLUMN resolve_by timestamptz,
    ADD COLUMN check_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN refund_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN last_outcome text,
    ADD COLUMN reversed_at timestamptz,
    ADD CONSTRAINT payments_resolution_only_while_processing
        CHECK ((status = 'PROCESSING') = (resolution IS NOT NULL));
CREATE INDEX payments_due ON payments (next_check_at) WHERE status = 'PROCESSING';
CREATE INDEX payments_final_by_day ON payments (biller_id, finished_at)
    WHERE status <> 'PROCESSING';
CREATE INDEX payments_reversed_by_day ON payments (biller_id, reversed_at)
    WHERE reversed_at IS NOT NULL;

CREATE TABLE bill_claims (
    biller_id integer NOT NULL REFERENCES billers (id),
    bill_no text NOT NULL,
    payment_id text NOT NULL,
    claimed_at timestamptz NOT NULL,
    released_at timestamptz
);
CREATE UNIQUE INDEX bill_claims_live ON bill_claims (biller_id, bill_no)
    WHERE released_at IS NULL;
CREATE INDEX bill_claims_by_payment ON bill_claims (biller_id, payment_id);

CREATE TABLE biller_calls (
    biller_id integer NOT NULL REFERENCES billers (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    payment_id text,
    trancode text NOT NULL,
    serial text NOT NULL,
    outcome text NOT NULL,
    detail text NOT NULL DEFAULT '',
    at timestamptz NOT NULL,
    duration_ms integer NOT NULL,
    PRIMARY KEY (biller_id, id)
);
CREATE INDEX biller_calls_by_payment ON biller_calls (biller_id, payment_id);

CREATE TABLE payment_exceptions (
    biller_id integer NOT NULL REFERENCES billers (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    payment_id text NOT NULL,
    reason text NOT NULL,
    opened_at timestamptz NOT NULL,
    resolved_at timestamptz,
    resolved_by text,
    resolution text CHECK (resolution IN ('WRITTEN_OFF', 'NOT_WRITTEN_OFF', 'RETRY')),
    note text,
    PRIMARY KEY (biller_id, id),
    CHECK ((resolved_at IS NULL) = (resolution IS NULL)),
    CHECK (resolved_at IS NULL OR (resolved_by <> '' AND note <> ''))
);
CREATE UNIQUE INDEX payment_exceptions_one_open ON payment_exceptions (biller_id, payment_id)
    WHERE resolved_at IS NULL;

ALTER TABLE outbox_events ADD COLUMN dispatched_at timestamptz;
CREATE INDEX outbox_events_pending ON outbox_events (id) WHERE dispatched_at IS NULL;

CREATE TABLE webhook_deliveries (
    channel_id integer NOT NULL REFERENCES channels (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    event_type text NOT NULL,
    object_id text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'DELIVERED', 'GAVE_UP')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz,
    PRIMARY KEY (channel_id, id),
    CHECK ((status = 'PENDING') = (next_attempt_at IS NOT NULL))
);
-- One delivery per event and channel: dispatching twice cannot send twice.
CREATE UNIQUE INDEX webhook_deliveries_once
    ON webhook_deliveries (channel_id, event_type, object_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'PENDING';

CREATE TABLE webhook_attempts (
    channel_id integer NOT NULL,
    delivery_id bigint NOT NULL,
    attempt integer NOT NULL,
    at timestamptz NOT NULL,
    url text NOT NULL,
    status_code integer,
    error text,
    duration_ms integer NOT NULL,
    PRIMARY KEY (channel_id, delivery_id, attempt),
    FOREIGN KEY (channel_id, delivery_id) REFERENCES webhook_deliveries
);
"""


def upgrade() -> None:
    op.execute(TABLES)
    # procrastinate's tables and functions, exactly as the pinned version ships them;
    # a later procrastinate upgrade brings its migrations in a new revision.
    # (driver-level: percent signs doubled as procrastinate itself does)
    op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE webhook_attempts, webhook_deliveries, payment_exceptions, biller_calls,
                   bill_claims, biller_connections;
        DROP INDEX outbox_events_pending;
        ALTER TABLE outbox_events DROP COLUMN dispatched_at;
        ALTER TABLE payments DROP CONSTRAINT payments_resolution_only_while_processing,
            DROP COLUMN resolution, DROP COLUMN next_check_at, DROP COLUMN resolve_by,
            DROP COLUMN check_attempts, DROP COLUMN refund_attempts, DROP COLUMN last_outcome,
            DROP COLUMN reversed_at;
        """
    )
    op.get_bind().exec_driver_sql(
        """
        DO $$ DECLARE r record;
        BEGIN
            FOR r IN SELECT tablename FROM pg_tables
                      WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%%'
            LOOP EXECUTE format('DROP TABLE %%I CASCADE', r.tablename); END LOOP;
            FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
                      JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%%'
            LOOP EXECUTE format('DROP FUNCTION %%s CASCADE', r.fn); END LOOP;
            FOR r IN SELECT t.typname FROM pg_type t
                      JOIN pg_namespace n ON n.oid = t.typnamespace
                     WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%%'
                       AND t.typtype IN ('e', 'c')
            LOOP EXECUTE format('DROP TYPE IF EXISTS %%I CASCADE', r.typname); END LOOP;
        END $$;
        """
    )
