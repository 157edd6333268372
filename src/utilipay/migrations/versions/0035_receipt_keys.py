"""The receipts' key (channel-api.md §11): the hub's secret for receipts' verification
codes, sealed like the other secrets, one row made on first use.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE receipt_keys ("
        " id smallint PRIMARY KEY CONSTRAINT receipt_keys_one CHECK (id = 1),"
        " secret text NOT NULL,"
        " created_at timestamptz NOT NULL)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE receipt_keys")
