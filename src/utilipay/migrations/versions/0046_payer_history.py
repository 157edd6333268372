"""A payer's payment history at one channel (channel-api.md §13, issue 14) reads one index.

``GET /v1/payments?payer=…`` lists a channel's payments of one payer, newest first, a page
at a time after the position (created_at, id) of the last one shown. The console's
``payments_by_payer_time`` (migration 0027) leads with the payer alone, so a payer known
to several channels would read, and throw away, the other channels' rows; this index leads
with the channel, then the payer, in the page's own order, so a page is one range scan of
its own 51 rows whatever the table's size.

``payments`` is distributed by ``biller_id`` (migration 0022), and this index does not lead
with it: only unique keys must, and a payer's payments span utilities. On a distributed
deployment each shard scans its part of the range and the coordinator merges the pages.

Built inside the migration's transaction (not CONCURRENTLY): on a large table it holds
writes to ``payments`` for the build's length; a deployment that cannot pause creates it
CONCURRENTLY beforehand, by this name and definition (hence IF NOT EXISTS).

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

INDEX = "payments_by_channel_payer_time"


def upgrade() -> None:
    op.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} "
        "ON payments (channel_id, payer, created_at DESC, id DESC)"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX {INDEX}")
