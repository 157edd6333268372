"""One index of the unpaid bills by due date, not two (issue 15).

Revision 0038 made ``bills_unpaid_by_due`` (biller, due date, where unpaid) for the
collection reports, and revision 0040 ``bills_unpaid_by_due_date`` with the same key and
predicate for the reminders; 0044 gave the second the columns the reminders read
(``INCLUDE``). Every query the first served, the second serves as well, and every bill
written off or imported paid for both: a write-off changes the status, so it is never a HOT
update and adds an entry to each of the table's indexes.

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX bills_unpaid_by_due")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX bills_unpaid_by_due ON bills (biller_id, due_date) WHERE status = 'UNPAID'"
    )
