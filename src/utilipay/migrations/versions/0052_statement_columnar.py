"""The books kept in columnar form for reconciliation runs (issue 15, item 5).

- ``statement_imports.columnar_sha256``: the SHA-256 of the Parquet file of a statement's
  lines its import wrote (recon/columnar.py). NULL: no file was kept (an import before
  this revision, a bank statement), and a run reads the lines from ``statement_lines``.
- ``recon_payment_files``: a business day's hub payments written as a Parquet file
  (recon/payments_file.py), each under the fingerprint of the rows it holds: a run uses it
  only while PostgreSQL's rows of the day still have that fingerprint.

PostgreSQL's tables stay the record either way.

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("statement_imports", sa.Column("columnar_sha256", sa.Text()))
    op.create_table(
        "recon_payment_files",
        sa.Column("business_date", sa.Date(), primary_key=True),
        sa.Column("fingerprint", sa.Text(), primary_key=True),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("kept_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("recon_payment_files")
    op.drop_column("statement_imports", "columnar_sha256")
