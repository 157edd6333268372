"""Outlet commission (channel-api.md §11, issue 12): each utility pays the outlets that
collect for it a commission per payment, by outlet kind, credited to the outlet's float in
the day's settlement and deducted from the utility's net. And what vouchers (§12) moved on
the utility's payable is part of its day's gross.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

UP = """
-- Effective-dated like the service fees (settlement/fees.py): a rule per utility, outlet
-- kind and first day; a branch without one pays its group's.
CREATE TABLE outlet_commission_rules (
    biller_id integer NOT NULL REFERENCES billers (id),
    outlet_kind text NOT NULL CONSTRAINT outlet_commission_rules_kind
        CHECK (outlet_kind IN ('shop', 'counter', 'collector')),
    effective_from date NOT NULL,
    rate_bp numeric(8, 3) NOT NULL CHECK (rate_bp >= 0 AND rate_bp <= 10000),
    minimum bigint NOT NULL CHECK (minimum >= 0),
    maximum bigint CHECK (maximum >= minimum),
    fixed bigint NOT NULL CHECK (fixed >= 0),
    actor text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, outlet_kind, effective_from)
);

ALTER TABLE settlements ADD COLUMN commission bigint NOT NULL DEFAULT 0;
ALTER TABLE settlements ALTER COLUMN commission DROP DEFAULT;
ALTER TABLE settlements DROP CONSTRAINT settlements_check,
    ADD CONSTRAINT settlements_net CHECK (net = gross - refunds - fees - commission);
ALTER TABLE settlement_lines ADD COLUMN commission bigint NOT NULL DEFAULT 0;
ALTER TABLE settlement_lines ALTER COLUMN commission DROP DEFAULT;
ALTER TABLE settlement_lines DROP CONSTRAINT settlement_lines_check1,
    ADD CONSTRAINT settlement_lines_net CHECK (net = gross - refunds - fees - commission);
ALTER TABLE settlement_lines ADD COLUMN vouchers bigint NOT NULL DEFAULT 0;
ALTER TABLE settlement_lines ALTER COLUMN vouchers DROP DEFAULT;
ALTER TABLE settlement_lines DROP CONSTRAINT settlement_lines_check,
    ADD CONSTRAINT settlement_lines_gross CHECK (gross = bills + accruals + vouchers);

-- What each outlet earned in a payee's day, credited to its float by the settlement's entry.
CREATE TABLE settlement_commissions (
    biller_id integer NOT NULL,
    business_date date NOT NULL,
    outlet_id integer NOT NULL REFERENCES outlets (id),
    payments integer NOT NULL,
    amount bigint NOT NULL,
    commission bigint NOT NULL CHECK (commission >= 0),
    PRIMARY KEY (biller_id, business_date, outlet_id),
    FOREIGN KEY (biller_id, business_date) REFERENCES settlements
);
CREATE INDEX settlement_commissions_of_outlet
    ON settlement_commissions (outlet_id, business_date);

CREATE OR REPLACE VIEW settlement_days AS
    SELECT biller_id, business_date, gross, refunds, fees, net, entry_id, commission
      FROM settlements;
-- for the outlets' figures: what each outlet earned in a day, whoever the payee
CREATE VIEW settlement_outlet_commissions AS
    SELECT biller_id, business_date, outlet_id, payments, amount, commission
      FROM settlement_commissions;
-- an entry's memo, for statements that name what moved (a deposit's bank reference)
CREATE OR REPLACE VIEW ledger_movements AS
    SELECT p.biller_id, p.entry_id, p.line_no, p.account_id, p.amount, e.kind,
           e.payment_id, e.created_at, e.memo
      FROM postings p
      JOIN journal_entries e ON e.biller_id = p.biller_id AND e.id = p.entry_id;
"""

DOWN = """
DROP VIEW settlement_outlet_commissions, settlement_days, ledger_movements;
CREATE VIEW ledger_movements AS
    SELECT p.biller_id, p.entry_id, p.line_no, p.account_id, p.amount, e.kind,
           e.payment_id, e.created_at
      FROM postings p
      JOIN journal_entries e ON e.biller_id = p.biller_id AND e.id = p.entry_id;
CREATE VIEW settlement_days AS
    SELECT biller_id, business_date, gross, refunds, fees, net, entry_id FROM settlements;
DROP TABLE settlement_commissions, outlet_commission_rules;
ALTER TABLE settlement_lines DROP CONSTRAINT settlement_lines_net,
    ADD CONSTRAINT settlement_lines_check1 CHECK (net = gross - refunds - fees);
ALTER TABLE settlement_lines DROP CONSTRAINT settlement_lines_gross,
    ADD CONSTRAINT settlement_lines_check CHECK (gross = bills + accruals);
ALTER TABLE settlement_lines DROP COLUMN commission, DROP COLUMN vouchers;
ALTER TABLE settlements DROP CONSTRAINT settlements_net,
    ADD CONSTRAINT settlements_check CHECK (net = gross - refunds - fees);
ALTER TABLE settlements DROP COLUMN commission;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
