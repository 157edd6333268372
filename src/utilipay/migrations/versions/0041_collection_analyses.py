"""The monthly collection analyses (issue 13 §5): each utility's month as PDF and XLSX,
made by the worker on the first working day of the next month, or on demand.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE collection_analyses ("
        " biller_id integer NOT NULL REFERENCES billers (id),"
        " month date NOT NULL CONSTRAINT collection_analyses_first_day"
        "  CHECK (extract(day FROM month) = 1),"
        " pdf bytea NOT NULL,"
        " xlsx bytea NOT NULL,"
        " made_at timestamptz NOT NULL,"
        " made_by text NOT NULL,"
        " PRIMARY KEY (biller_id, month))"
    )


def downgrade() -> None:
    op.execute("DROP TABLE collection_analyses")
