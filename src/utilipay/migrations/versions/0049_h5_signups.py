"""Signing auto-pay and smart payment up from the payer pages (issue 14): the sign-up
requests the pages make before sending a payer to the channel's cashier to authorise it
(``payer_signups``), and the request's id on the mandate the channel then signs
(``mandates.signup_id``, the optional ``signup_id`` of ``POST /v1/mandates`` and
``POST /v1/prepaid/enrolments``), so the page the payer comes back to shows that mandate.

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("mandates", sa.Column("signup_id", sa.Text()))
    # one channel's sign-up request (for one account) signs at most one mandate
    op.create_index(
        "mandates_by_signup",
        "mandates",
        ["biller_id", "channel_id", "signup_id"],
        unique=True,
        postgresql_where=sa.text("signup_id IS NOT NULL"),
    )
    op.create_table(
        "payer_signups",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("channel_code", sa.Text(), nullable=False),
        sa.Column("payer", sa.Text(), nullable=False),
        sa.Column("binding_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("biller_code", sa.Text(), nullable=False),
        sa.Column("account_no", sa.Text(), nullable=False),
        sa.Column("cap", sa.BigInteger()),
        sa.Column("reminder", sa.BigInteger()),
        sa.Column("topup_amount", sa.BigInteger()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('autopay', 'smart')", name="payer_signups_kind"),
    )


def downgrade() -> None:
    op.drop_table("payer_signups")
    op.drop_index("mandates_by_signup", table_name="mandates")
    op.drop_column("mandates", "signup_id")
