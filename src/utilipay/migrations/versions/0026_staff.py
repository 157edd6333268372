"""The console's people: users with roles (utility staff scoped to a utility), sessions,
the four-eyes approvals of sensitive changes, and the progress of long work started in the
console.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE staff_users (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL UNIQUE,
    display_name text NOT NULL,
    password_hash text NOT NULL,
    role text NOT NULL,
    biller_id integer REFERENCES billers (id),
    totp_secret text,
    totp_last_step bigint,
    failed_sign_ins integer NOT NULL,
    locked_until timestamptz,
    password_changed_at timestamptz NOT NULL,
    disabled_at timestamptz,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    CONSTRAINT staff_users_role CHECK (role IN ('platform_admin', 'operations',
        'utility_staff', 'customer_service', 'auditor')),
    CONSTRAINT staff_users_scope CHECK ((role = 'utility_staff') = (biller_id IS NOT NULL))
);
CREATE TABLE staff_sessions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_sha256 bytea NOT NULL UNIQUE,
    user_id integer NOT NULL REFERENCES staff_users (id),
    csrf_token text NOT NULL,
    second_factor_due boolean NOT NULL,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX staff_sessions_live ON staff_sessions (user_id) WHERE ended_at IS NULL;
CREATE TABLE staff_approvals (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    biller_id integer REFERENCES billers (id),
    subject text NOT NULL,
    payload jsonb NOT NULL,
    reason text NOT NULL,
    requested_by integer NOT NULL REFERENCES staff_users (id),
    requested_at timestamptz NOT NULL,
    status text NOT NULL,
    decided_by integer REFERENCES staff_users (id),
    decided_at timestamptz,
    decision_note text,
    CONSTRAINT staff_approvals_status
        CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED', 'WITHDRAWN')),
    CONSTRAINT staff_approvals_four_eyes CHECK (status <> 'APPROVED' OR decided_by <> requested_by),
    CONSTRAINT staff_approvals_decided CHECK ((status = 'PENDING') = (decided_at IS NULL))
);
CREATE INDEX staff_approvals_pending ON staff_approvals (kind) WHERE status = 'PENDING';
CREATE TABLE staff_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    biller_id integer REFERENCES billers (id),
    title text NOT NULL,
    started_by integer NOT NULL REFERENCES staff_users (id),
    started_at timestamptz NOT NULL,
    status text NOT NULL,
    done bigint NOT NULL,
    total bigint,
    outcome text NOT NULL,
    result jsonb,
    heartbeat_at timestamptz NOT NULL,
    finished_at timestamptz,
    CONSTRAINT staff_jobs_status CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED')),
    CONSTRAINT staff_jobs_finished CHECK ((status = 'RUNNING') = (finished_at IS NULL))
);
CREATE INDEX staff_jobs_recent ON staff_jobs (started_at DESC);
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute("DROP TABLE staff_jobs, staff_approvals, staff_sessions, staff_users")
