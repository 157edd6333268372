"""The front line's views, named and published by their owners (the house rule of 0024).

- ``outlets_payment_accounts`` replaces 0031's ``outlet_payment_accounts`` (a view takes
  its owner's prefix): the payments booked on an outlet's float, now with where each
  stands in the float (``float_state``), for the payments' check of voids.
- ``outlets_standing_voids``: each payment's void that is not REFUSED (at most one, the
  partial unique index of 0034), for the payments' check that a VOIDED payment's outlet
  recorded its void.

The SQL file ``prepaid/sql/top_up.sql`` gains ``prepaid_account_locked``, the prepaid
account's row locked for a credit, which ``voucher_redeem`` calls instead of naming
``prepaid_accounts``; it goes with this revision (``prepaid_top_up``'s body is put back by
the next upgrade's files, every file being applied again after a versioned migration).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

UP = """
DROP VIEW outlet_payment_accounts;
CREATE VIEW outlets_payment_accounts AS
    SELECT op.biller_id, op.payment_id, op.outlet_id, o.float_account, op.float_state
      FROM outlet_payments op JOIN outlets o ON o.id = op.outlet_id;
CREATE VIEW outlets_standing_voids AS
    SELECT biller_id, payment_id, outlet_id, status FROM outlet_voids
     WHERE status <> 'REFUSED';
"""

DOWN = """
DROP FUNCTION IF EXISTS prepaid_account_locked(integer, text);
-- (revision 0053's files: the prepaid rows of a batch of redemptions)
DROP FUNCTION IF EXISTS prepaid_accounts_locked(integer[], text[]);
DROP VIEW outlets_standing_voids, outlets_payment_accounts;
CREATE VIEW outlet_payment_accounts AS
    SELECT op.biller_id, op.payment_id, op.outlet_id, o.float_account
      FROM outlet_payments op JOIN outlets o ON o.id = op.outlet_id;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
