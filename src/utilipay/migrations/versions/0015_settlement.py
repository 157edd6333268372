"""Fee schedules, settlement to utilities and their branches, payouts (issue 6).

- ``biller_fee_rules``, ``channel_fee_rules``: effective-dated fees per transaction: a rate
  in basis points held between a minimum and a maximum, plus a fixed amount. A
  biller's fee is the hub's service fee, deducted from what the utility is paid; a
  channel's fee is what the channel charges the hub (the hub's cost, reported).
- ``settlement_accounts``: where a utility is paid (account number, name, bank), and
  for a group whether its branches are settled one by one or swept to the group.
- ``settlements``: one per payee and business day, with a line per branch in
  ``settlement_lines``; final once written (a re-run reports differences).
- ``payouts``: the transfer for a settlement, confirmed by a bank statement line.
- ledger: the kinds of account a settlement posts to (the utility's settled money,
  the hub's fee income, refunds owed back through a channel) and the entry kind.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

FEES = """
CREATE TABLE {table} (
    {owner} integer NOT NULL REFERENCES {owners} (id),
    effective_from date NOT NULL,
    rate_bp numeric(8, 3) NOT NULL DEFAULT 0 CHECK (rate_bp >= 0 AND rate_bp <= 10000),
    minimum bigint NOT NULL DEFAULT 0 CHECK (minimum >= 0),
    maximum bigint CHECK (maximum >= minimum),
    fixed bigint NOT NULL DEFAULT 0 CHECK (fixed >= 0),
    actor text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY ({owner}, effective_from)
);
"""

TABLES = """
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check,
    ADD CONSTRAINT ledger_accounts_kind_check
        CHECK (kind IN ('CHANNEL_RECEIVABLE', 'BILLER_PAYABLE', 'PREPAID_BALANCE',
                        'BILLER_SETTLED', 'HUB_FEE_INCOME', 'REFUND_PAYABLE'));
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check,
    ADD CONSTRAINT journal_entries_kind_check
        CHECK (kind IN ('PAYMENT', 'PREPAID_TOPUP', 'PREPAID_ACCRUAL', 'SETTLEMENT'));

CREATE TABLE settlement_accounts (
    biller_id integer PRIMARY KEY REFERENCES billers (id),
    account_no text NOT NULL CHECK (account_no ~ '^[0-9A-Z]{6,34}$'),
    account_name text NOT NULL CHECK (account_name <> ''),
    bank text NOT NULL CHECK (bank <> ''),
    -- a group: 'branches' pays each branch to its own account (清分到各分公司),
    -- 'group' sweeps every branch into this account (归集集团总账户)
    mode text NOT NULL DEFAULT 'branches' CHECK (mode IN ('branches', 'group')),
    actor text NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE settlements (
    biller_id integer NOT NULL REFERENCES billers (id),  -- the payee
    business_date date NOT NULL,
    gross bigint NOT NULL,  -- bill write-offs and settled prepaid use
    refunds bigint NOT NULL,
    fees bigint NOT NULL,  -- the hub's service fee, deducted
    net bigint NOT NULL CHECK (net = gross - refunds - fees),
    channel_fees bigint NOT NULL,  -- the hub's cost, not deducted
    payments integer NOT NULL,
    account_no text NOT NULL,
    account_name text NOT NULL,
    bank text NOT NULL,
    entry_id bigint,  -- the ledger entry (none when nothing moved)
    actor text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, business_date)
);

CREATE TABLE settlement_lines (
    biller_id integer NOT NULL,
    business_date date NOT NULL,
    branch_id integer NOT NULL REFERENCES billers (id),  -- whose payments these are
    bills bigint NOT NULL,
    bill_count integer NOT NULL,
    accruals bigint NOT NULL,
    topups bigint NOT NULL,  -- held for the utility, not owed yet: shown, not paid
    topup_count integer NOT NULL,
    reversed bigint NOT NULL,  -- written off then reversed: never owed, shown
    reversed_count integer NOT NULL,
    refunds bigint NOT NULL,
    fees bigint NOT NULL,
    channel_fees bigint NOT NULL,
    gross bigint NOT NULL CHECK (gross = bills + accruals),
    net bigint NOT NULL CHECK (net = gross - refunds - fees),
    PRIMARY KEY (biller_id, business_date, branch_id),
    FOREIGN KEY (biller_id, business_date) REFERENCES settlements
);
-- a branch's day is settled once, to one payee, whatever its group's mode becomes
CREATE UNIQUE INDEX settlement_lines_branch_day ON settlement_lines (branch_id, business_date);

CREATE TABLE payouts (
    biller_id integer NOT NULL,
    business_date date NOT NULL,
    reference text NOT NULL UNIQUE,  -- the transfer's end-to-end id
    amount bigint NOT NULL CHECK (amount > 0),
    account_no text NOT NULL,
    status text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'MISMATCH')),
    created_at timestamptz NOT NULL,
    matched_at timestamptz,
    import_id bigint,  -- the bank statement line that confirms (or contradicts) it
    line_no integer,
    note text,
    PRIMARY KEY (biller_id, business_date),
    FOREIGN KEY (biller_id, business_date) REFERENCES settlements
);
CREATE INDEX payouts_open ON payouts (business_date) WHERE status <> 'CONFIRMED';

-- a payout finds the bank debit carrying its end-to-end id (contract 1's lines, 0013)
CREATE INDEX statement_lines_debit_refs ON statement_lines (party_ref) WHERE status = 'DEBIT';

-- a day's settlement finds the accrual entries posted that day without a scan
CREATE INDEX journal_entries_accruals_by_day ON journal_entries (biller_id, created_at)
    WHERE kind = 'PREPAID_ACCRUAL';
"""


def upgrade() -> None:
    op.execute(FEES.format(table="biller_fee_rules", owner="biller_id", owners="billers"))
    op.execute(FEES.format(table="channel_fee_rules", owner="channel_id", owners="channels"))
    op.execute(TABLES)


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX journal_entries_accruals_by_day, statement_lines_debit_refs;
        DROP TABLE payouts, settlement_lines, settlements, settlement_accounts,
            channel_fee_rules, biller_fee_rules;
        ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check,
            ADD CONSTRAINT journal_entries_kind_check
                CHECK (kind IN ('PAYMENT', 'PREPAID_TOPUP', 'PREPAID_ACCRUAL'));
        ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check,
            ADD CONSTRAINT ledger_accounts_kind_check
                CHECK (kind IN ('CHANNEL_RECEIVABLE', 'BILLER_PAYABLE', 'PREPAID_BALANCE'));
        """
    )
