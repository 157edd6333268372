"""Early warning of collection (回收预警, issue 13 §6): a utility's rules as data, whom its
warnings are sent to, and the warnings, one per episode of a rule firing for a subject.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE warning_rules (
    biller_id integer NOT NULL REFERENCES billers (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    kind text NOT NULL,
    params jsonb NOT NULL,
    enabled boolean NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL,
    PRIMARY KEY (biller_id, id)
);

-- Staff users keep no address: each utility names who hears of its warnings.
CREATE TABLE warning_contacts (
    biller_id integer NOT NULL REFERENCES billers (id),
    kind text NOT NULL CONSTRAINT warning_contacts_kind CHECK (kind IN ('email', 'sms')),
    address text NOT NULL,
    PRIMARY KEY (biller_id, kind, address)
);

CREATE TABLE collection_warnings (
    biller_id integer NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    rule_id bigint NOT NULL,
    subject text NOT NULL,
    figures jsonb NOT NULL,
    opened_at timestamptz NOT NULL,
    cleared_at timestamptz,
    acknowledged_at timestamptz,
    acknowledged_by text,
    note text,
    PRIMARY KEY (biller_id, id),
    FOREIGN KEY (biller_id, rule_id) REFERENCES warning_rules (biller_id, id),
    CONSTRAINT collection_warnings_ack CHECK (
        (acknowledged_at IS NULL) = (acknowledged_by IS NULL)
        AND (acknowledged_at IS NULL) = (note IS NULL))
);
-- One open episode per rule and subject: two passes at once make one warning.
CREATE UNIQUE INDEX collection_warnings_one_open
    ON collection_warnings (biller_id, rule_id, subject) WHERE cleared_at IS NULL;
-- The lists people read: the unacknowledged first.
CREATE INDEX collection_warnings_unacknowledged
    ON collection_warnings (biller_id, opened_at) WHERE acknowledged_at IS NULL;
"""

DOWN = "DROP TABLE collection_warnings, warning_contacts, warning_rules;"


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
