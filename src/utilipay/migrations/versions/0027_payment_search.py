"""Searching payments in the console (issue 11): each search reads an index.

The console finds payments by order id, receipt number, account, payer, channel, utility,
status or business dates, newest first, a page at a time (the keyset ``created_at, id``).
Each filter gets an index that leads with it and ends with (created_at, id), so a page of
a million payments reads its own rows only; order ids and receipt numbers are all but
unique and need no order. A payment's story finds its webhooks by the payment's id, not
by scanning its channel's deliveries.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

INDEXES = {
    "payments_by_time": "payments (created_at, id)",
    "payments_by_biller_time": "payments (biller_id, created_at, id)",
    "payments_by_channel_time": "payments (channel_id, created_at, id)",
    "payments_by_status_time": "payments (status, created_at, id)",
    "payments_by_account_time": "payments (account_no, created_at, id)",
    "payments_by_payer_time": "payments (payer, created_at, id)",
    "payments_by_order_id": "payments (order_id)",
    "payments_by_receipt": "payments (receipt_no) WHERE receipt_no IS NOT NULL",
    "webhook_deliveries_by_object": "webhook_deliveries (channel_id, object_id)",
}


def upgrade() -> None:
    for name, definition in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {definition}")


def downgrade() -> None:
    op.execute(f"DROP INDEX {', '.join(INDEXES)}")
