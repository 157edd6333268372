"""Payer notifications: the delivery queue, its log, and the due-date reminders sent.

- ``notifications``: one message per outbox event and recipient (the payer at a
  channel, the account's phone or e-mail), rendered when it is created (subject
  and text per language: both for a channel, the account's language otherwise)
  and retried until it is sent or given up.
- ``notification_attempts``: every attempt, whatever the provider.
- ``bill_reminders``: which bills were reminded how many days before their due
  date, so a reminder is announced once.
- ``bills`` gain an index on the due date for the reminder pass; the date never
  changes, so paying a bill stays a HOT update.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE notifications (
    biller_id integer NOT NULL REFERENCES billers (id),
    id text NOT NULL,
    -- no foreign key: the outbox may be pruned while the messages are kept
    event_id bigint NOT NULL,
    template text NOT NULL,
    account_no text NOT NULL,
    recipient_kind text NOT NULL CHECK (recipient_kind IN ('channel', 'email', 'sms')),
    channel_id integer REFERENCES channels (id),
    address text NOT NULL,  -- the payer at the channel, the e-mail address, the phone number
    language text NOT NULL CHECK (language IN ('zh-CN', 'en')),
    params jsonb NOT NULL,
    subject jsonb NOT NULL CHECK (jsonb_typeof(subject) = 'object'),  -- language → text
    text jsonb NOT NULL CHECK (jsonb_typeof(text) = 'object' AND text ? language),
    status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'GAVE_UP')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    created_at timestamptz NOT NULL,
    sent_at timestamptz,
    PRIMARY KEY (biller_id, id),
    CHECK ((recipient_kind = 'channel') = (channel_id IS NOT NULL)),
    CHECK ((status = 'PENDING') = (next_attempt_at IS NOT NULL)),
    CHECK ((status = 'SENT') = (sent_at IS NOT NULL))
);
CREATE UNIQUE INDEX notifications_id ON notifications (id);
-- One message per event and recipient: dispatching an event twice creates nothing new.
CREATE UNIQUE INDEX notifications_once
    ON notifications (biller_id, event_id, recipient_kind, channel_id, address) NULLS NOT DISTINCT;
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX notifications_by_payer ON notifications (channel_id, address)
    WHERE recipient_kind = 'channel';
CREATE INDEX notifications_by_account ON notifications (biller_id, account_no);

CREATE TABLE notification_attempts (
    biller_id integer NOT NULL,
    notification_id text NOT NULL,
    attempt integer NOT NULL,
    at timestamptz NOT NULL,
    provider text NOT NULL,
    destination text NOT NULL,
    acknowledged boolean NOT NULL,
    status_code integer,
    error text,
    duration_ms integer NOT NULL,
    PRIMARY KEY (biller_id, notification_id, attempt),
    FOREIGN KEY (biller_id, notification_id) REFERENCES notifications
);

CREATE TABLE bill_reminders (
    biller_id integer NOT NULL,
    bill_no text NOT NULL,
    days_before integer NOT NULL CHECK (days_before >= 0),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, bill_no, days_before),
    FOREIGN KEY (biller_id, bill_no) REFERENCES bills
);

CREATE INDEX bills_by_due_date ON bills (due_date);
"""


def upgrade() -> None:
    op.execute(TABLES)


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX bills_by_due_date;
        DROP TABLE bill_reminders, notification_attempts, notifications;
        """
    )
