"""Binding verification (channel-api.md §13).

- ``billers`` gain ``verification``: how a payer proves an account is theirs before
  binding it (``none``, ``holder_name``, ``sms``).
- ``bindings`` gain ``verified_at``: when the payer passed a verification (NULL: never).
  Bindings made before this revision are unverified: their payers verify once more
  before prepaid views and auto-pay (the gates of §13).
- ``binding_challenges``: an SMS code sent for a binding, kept only as HMAC-SHA256 under a
  key of its own (sealed outside the database), with its tries; at most one open per
  payer (channel and payer) and account. Kept after closing: the rate limits count them.
- ``binding_failures``: the wrong holder names given, counted for the brute-force brake.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

UP = """
ALTER TABLE billers ADD COLUMN verification text NOT NULL DEFAULT 'none'
    CHECK (verification IN ('none', 'holder_name', 'sms'));
ALTER TABLE bindings ADD COLUMN verified_at timestamptz;

CREATE TABLE binding_challenges (
    biller_id integer NOT NULL REFERENCES billers (id),
    id text NOT NULL,
    channel_id integer NOT NULL REFERENCES channels (id),
    payer text NOT NULL,
    account_no text NOT NULL,
    phone_hash bytea NOT NULL,
    code_key text NOT NULL,
    code_hash bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    tries integer NOT NULL DEFAULT 0 CHECK (tries BETWEEN 0 AND 3),
    closed_at timestamptz,
    closed_why text CHECK (closed_why IN ('USED', 'REPLACED', 'TOO_MANY_TRIES')),
    PRIMARY KEY (biller_id, id),
    CHECK ((closed_at IS NULL) = (closed_why IS NULL))
);
CREATE UNIQUE INDEX binding_challenges_open ON binding_challenges
    (biller_id, account_no, channel_id, payer) WHERE closed_at IS NULL;
CREATE INDEX binding_challenges_by_account ON binding_challenges
    (biller_id, account_no, created_at);
CREATE INDEX binding_challenges_by_payer ON binding_challenges (channel_id, payer, created_at);
CREATE INDEX binding_challenges_by_phone ON binding_challenges (phone_hash, created_at);

CREATE TABLE binding_failures (
    biller_id integer NOT NULL REFERENCES billers (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    channel_id integer NOT NULL REFERENCES channels (id),
    payer text NOT NULL,
    account_no text NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, id)
);
CREATE INDEX binding_failures_by_account ON binding_failures (biller_id, account_no, at);
CREATE INDEX binding_failures_by_payer ON binding_failures (channel_id, payer, at);
"""

DOWN = """
DROP TABLE binding_failures, binding_challenges;
ALTER TABLE bindings DROP COLUMN verified_at;
ALTER TABLE billers DROP COLUMN verification;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
