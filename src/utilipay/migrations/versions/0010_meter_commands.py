"""Disconnect and reconnect commands to head-end systems.

- ``head_ends``: one per biller: where its head-end system listens, the secret
  the hub signs with (and the previous one, still accepted on answers during a
  rotation), the timeouts, and when an unfinished command is given up.
- ``meter_sequences``: the last sequence given to a meter's commands; its row is
  locked by each decision, so a meter's commands are numbered in the order decided.
- ``meter_commands``: one per decision (``decision_key`` unique per biller), its
  per-meter ``sequence``, its delivery state, what the head-end last said. Only a
  biller with a head-end has commands; a reconnect is never given up (FAILED), it
  is flagged ``overdue_at`` instead and kept trying.
- ``meter_command_attempts``: every call to a head-end about a command.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE head_ends (
    biller_id integer PRIMARY KEY REFERENCES billers (id),
    base_url text NOT NULL,
    secret text NOT NULL,
    previous_secret text,
    connect_timeout_ms integer NOT NULL CHECK (connect_timeout_ms > 0),
    total_timeout_ms integer NOT NULL CHECK (total_timeout_ms >= connect_timeout_ms),
    give_up_after_s integer NOT NULL CHECK (give_up_after_s > 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE meter_sequences (
    biller_id integer NOT NULL REFERENCES billers (id),
    meter_id text NOT NULL,
    last_sequence bigint NOT NULL CHECK (last_sequence > 0),
    PRIMARY KEY (biller_id, meter_id)
);

CREATE TABLE meter_commands (
    biller_id integer NOT NULL REFERENCES head_ends (biller_id),
    id text NOT NULL,
    meter_id text NOT NULL,
    account_no text NOT NULL,
    action text NOT NULL CHECK (action IN ('disconnect', 'reconnect')),
    sequence bigint NOT NULL CHECK (sequence > 0),
    decision_key text NOT NULL,
    reason text NOT NULL,
    status text NOT NULL CHECK (status IN ('PENDING', 'SENT', 'ACCEPTED', 'EXECUTED',
                                           'REJECTED', 'STALE', 'SUPERSEDED', 'FAILED')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz,
    relay text CHECK (relay IN ('connected', 'disconnected')),
    detail text,
    decided_at timestamptz NOT NULL,
    sent_at timestamptz,
    executed_at timestamptz,
    finished_at timestamptz,
    overdue_at timestamptz,
    PRIMARY KEY (biller_id, id),
    FOREIGN KEY (biller_id, meter_id) REFERENCES meter_sequences,
    -- open commands, and only they, are due some time; PENDING means never sent
    CHECK ((status IN ('PENDING', 'SENT', 'ACCEPTED')) = (next_attempt_at IS NOT NULL)),
    CHECK ((status IN ('PENDING', 'SENT', 'ACCEPTED')) = (finished_at IS NULL)),
    CHECK ((status = 'EXECUTED') = (executed_at IS NOT NULL)),
    CHECK (status <> 'PENDING' OR attempts = 0),
    -- a customer who has paid is never left in the dark by a give-up
    CHECK (status <> 'FAILED' OR action = 'disconnect'),
    CHECK (overdue_at IS NULL OR action = 'reconnect')
);
CREATE UNIQUE INDEX meter_commands_id ON meter_commands (id);
-- One command per decision: deciding again finds it.
CREATE UNIQUE INDEX meter_commands_decision ON meter_commands (biller_id, decision_key);
CREATE UNIQUE INDEX meter_commands_sequence ON meter_commands (biller_id, meter_id, sequence);
CREATE INDEX meter_commands_due ON meter_commands (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX meter_commands_by_biller ON meter_commands (biller_id, decided_at);

CREATE TABLE meter_command_attempts (
    biller_id integer NOT NULL,
    command_id text NOT NULL,
    attempt integer NOT NULL CHECK (attempt > 0),
    kind text NOT NULL CHECK (kind IN ('send', 'ask')),
    at timestamptz NOT NULL,
    url text NOT NULL,
    status_code integer,
    outcome text NOT NULL,
    detail text,
    duration_ms integer NOT NULL,
    PRIMARY KEY (biller_id, command_id, attempt),
    FOREIGN KEY (biller_id, command_id) REFERENCES meter_commands
);
"""


def upgrade() -> None:
    op.execute(TABLES)


def downgrade() -> None:
    op.execute("DROP TABLE meter_command_attempts, meter_commands, meter_sequences, head_ends;")
