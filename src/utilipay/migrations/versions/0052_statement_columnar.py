"""A statement's lines kept in columnar form (issue 15, item 5): the SHA-256 of the
Parquet file its import wrote (``statement_imports.columnar_sha256``, recon/columnar.py).
NULL: no file was kept (an import before this revision, a bank statement), and a run
reads the lines from ``statement_lines``, which stay the record either way.

Revision ID: 0052
Revises: 0049
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0052"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("statement_imports", sa.Column("columnar_sha256", sa.Text()))


def downgrade() -> None:
    op.drop_column("statement_imports", "columnar_sha256")
