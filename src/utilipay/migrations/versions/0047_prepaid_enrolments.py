"""Smart-payment enrolments over the channel API (channel-api.md §13, 智能交费签约).

``enrolments`` (auto-pay's): a payer's sign-up of a prepaid account at one channel, its
opaque id the channel's handle for changing it. The reminder amount stays the account's
(``prepaid_accounts.reminder``: one balance, one threshold); the automatic top-up stays a
mandate with ``topup_amount`` (``mandate_id``, NULL without one). One enrolment per
(account, channel, payer): enrolling again finds it.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE enrolments (
    biller_id integer NOT NULL REFERENCES billers (id),
    id text NOT NULL,
    channel_id integer NOT NULL REFERENCES channels (id),
    payer text NOT NULL,
    account_no text NOT NULL,
    mandate_id text,
    enrolled_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, id),
    UNIQUE (biller_id, account_no, channel_id, payer),
    FOREIGN KEY (biller_id, mandate_id) REFERENCES mandates (biller_id, id)
);
CREATE INDEX enrolments_id ON enrolments (id);
CREATE INDEX enrolments_by_payer ON enrolments (channel_id, payer);
"""

DOWN = """
DROP TABLE enrolments;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
