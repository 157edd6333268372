"""Channels get an optional request rate limit (429 RATE_LIMITED, channel-api.md §2).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE channels ADD COLUMN rate_limit integer CHECK (rate_limit > 0);"
        "COMMENT ON COLUMN channels.rate_limit IS"
        " 'requests per second per server process; NULL: unlimited'"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE channels DROP COLUMN rate_limit")
