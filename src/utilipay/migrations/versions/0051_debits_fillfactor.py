"""Room on each page of ``debits`` for its row's next versions (issue 15: the senders).

A debit's row is updated three times as it is sent (the lease, the answer, the finish).
An update whose new version fits on the row's own page, and changes no indexed column, is
HOT: none of the table's seven indexes gets an entry. The answer of a debit taken changes
only ``channel_txn_id`` (autopay/send.py ``record``), but rows are inserted by the day's
scheduling packed full, so the new version went to another page and every index was
written anyway. A fill factor of 70 leaves a page room for the versions of its rows' steps
(new pages only: rows already stored stay where they are).

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE debits SET (fillfactor = 70)")


def downgrade() -> None:
    op.execute("ALTER TABLE debits RESET (fillfactor)")
