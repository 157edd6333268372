"""A remote biller may give its own URL per transaction (biller-protocol.md §1).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE biller_connections ADD COLUMN endpoints jsonb NOT NULL DEFAULT '{}'"
        " CHECK (jsonb_typeof(endpoints) = 'object');"
        "COMMENT ON COLUMN biller_connections.endpoints IS"
        " 'URL per transaction code where it is not <base_url>/<trancode>'"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE biller_connections DROP COLUMN endpoints")
