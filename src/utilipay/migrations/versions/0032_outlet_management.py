"""Managing the front line (channel-api.md §11): the hub's own bank account has no owner,
and a bank statement's lines keep the bank's own reference and the remittance information,
where an outlet's owner writes the float's deposit reference.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

UP = """
-- HUB_BANK is the hub's own: neither a biller's nor a channel's.
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_check,
    ADD CONSTRAINT ledger_accounts_owner_check CHECK (
        CASE WHEN kind = 'HUB_BANK' THEN biller_id IS NULL AND channel_id IS NULL
             ELSE (biller_id IS NULL) <> (channel_id IS NULL) END);

-- The bank's own reference of an entry (one per transfer: a float deposit's key) and the
-- payer's remittance information (附言), where a float deposit's reference is written.
ALTER TABLE statement_lines ADD COLUMN bank_ref text, ADD COLUMN remittance text;

-- Published by recon: the credit lines of the bank's statements, for float deposits.
CREATE VIEW recon_bank_credits AS
    SELECT l.import_id, l.line_no, l.bank_ref, l.remittance, l.amount, l.currency,
           l.occurred_at, l.counterparty, i.party_code AS bank_account
      FROM statement_lines l JOIN statement_imports i ON i.id = l.import_id
     WHERE l.status = 'CREDIT' AND i.party = 'bank';
"""

DOWN = """
DROP VIEW recon_bank_credits;
ALTER TABLE statement_lines DROP COLUMN bank_ref, DROP COLUMN remittance;
DELETE FROM ledger_accounts WHERE kind = 'HUB_BANK';
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_owner_check,
    ADD CONSTRAINT ledger_accounts_check CHECK ((biller_id IS NULL) <> (channel_id IS NULL));
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
