"""The payer pages (H5, issue 14): a channel's cashier page and the origins allowed to frame
the pages (``channels.cashier_url``, ``channels.frame_ancestors``); the payers' sessions,
opened by a signed launch link and kept only as a hash of their cookie (``payer_sessions``);
and the pay orders the pages create before sending a payer to the channel's cashier, whose
amount and bills are fixed when made (``payer_orders``).

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("channels", sa.Column("cashier_url", sa.Text()))
    op.add_column(
        "channels",
        sa.Column(
            "frame_ancestors",
            sa.Text(),
            comment="origins that may frame the payer pages, space-separated; NULL: none",
        ),
    )
    op.create_table(
        "payer_sessions",
        sa.Column("token_hash", sa.LargeBinary(), primary_key=True),
        sa.Column("channel_code", sa.Text(), nullable=False),
        sa.Column("payer", sa.Text(), nullable=False),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "payer_orders",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("channel_code", sa.Text(), nullable=False),
        sa.Column("payer", sa.Text(), nullable=False),
        sa.Column("binding_id", sa.Text(), nullable=False),
        sa.Column("biller_code", sa.Text(), nullable=False),
        sa.Column("account_no", sa.Text(), nullable=False),
        sa.Column("bill_nos", ARRAY(sa.Text()), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name="payer_orders_amount_positive"),
    )
    op.create_index(
        "payer_orders_by_payer", "payer_orders", ["channel_code", "payer", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("payer_orders")
    op.drop_table("payer_sessions")
    op.drop_column("channels", "frame_ancestors")
    op.drop_column("channels", "cashier_url")
