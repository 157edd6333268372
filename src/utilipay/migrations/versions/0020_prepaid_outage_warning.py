"""When each prepaid account's outage warning (停电预警) went out, so a cut can wait for it.

``prepaid_accounts.outage_warned_at``: the time the daily accrual sent the current
episode's outage warning (``'ARREARS'`` in ``notified`` says it went out in this
episode). A cut needs that warning at least the biller's grace period old. Accounts
already warned get the time of their warning event, else the time they entered
their state (the closest the hub knows).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE prepaid_accounts ADD COLUMN outage_warned_at timestamptz;
        UPDATE prepaid_accounts pa
           SET outage_warned_at = coalesce(
                   (SELECT max(e.occurred_at) FROM outbox_events e
                     WHERE e.biller_id = pa.biller_id AND e.event_type = 'prepaid.arrears'
                       AND e.aggregate_id = pa.account_no
                       AND (e.payload ->> 'episode')::int = pa.episode),
                   pa.state_since)
         WHERE 'ARREARS' = ANY (pa.notified);
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE prepaid_accounts DROP COLUMN outage_warned_at")
