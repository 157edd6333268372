"""An index of the reconciliation corrections still proposed.

``GET /metrics`` counts every queue of open work at each scrape (every 15 s or so);
the other queues already have a partial index of their open items. Corrections
accumulate with every day's breaks, so counting the proposed ones would otherwise
read them all.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX recon_corrections_proposed ON recon_corrections (run_id)"
        " WHERE status = 'PROPOSED'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX recon_corrections_proposed")
