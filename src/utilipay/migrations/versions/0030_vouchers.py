"""Recharge vouchers (channel-api.md §12): batches issued by a utility, each voucher's PIN
kept only as a keyed hash, its state from ISSUED to REDEEMED (or EXPIRED / VOID), the one
redemption of each, the credit a redemption leaves on a postpaid account, and the invalid
PINs a payer or an account tried (the brute-force brake). The ledger gains the voucher
liability and the credit held for accounts, and the flows that move them.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

ACCOUNT_KINDS = (
    "'CHANNEL_RECEIVABLE', 'BILLER_PAYABLE', 'PREPAID_BALANCE', 'BILLER_SETTLED',"
    " 'HUB_FEE_INCOME', 'REFUND_PAYABLE', 'OUTLET_FLOAT', 'HUB_BANK'"
)
ENTRY_KINDS = (
    "'PAYMENT', 'PREPAID_TOPUP', 'PREPAID_ACCRUAL', 'SETTLEMENT', 'FLOAT_DEPOSIT', 'PAYMENT_VOID'"
)

UP = f"""
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check,
    ADD CONSTRAINT ledger_accounts_kind_check
        CHECK (kind IN ({ACCOUNT_KINDS}, 'VOUCHER_LIABILITY', 'VOUCHER_CREDIT'));
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check,
    ADD CONSTRAINT journal_entries_kind_check
        CHECK (kind IN ({ENTRY_KINDS}, 'VOUCHER_SALE', 'VOUCHER_REDEMPTION',
                        'VOUCHER_CREDIT_USE', 'VOUCHER_BREAKAGE'));
-- A redemption is a payment of its channel's order like any other (receipts, recon,
-- settlement and the checks see it), paid by a voucher instead of the channel's money.
ALTER TABLE payments DROP CONSTRAINT payments_purpose_check,
    ADD CONSTRAINT payments_purpose_check
        CHECK (purpose IN ('bills', 'prepaid_topup', 'voucher'));

-- The key of each utility's PIN hashes (HMAC-SHA256), sealed like the other secrets: a
-- dump of the database alone cannot test a single PIN.
CREATE TABLE voucher_keys (
    biller_id integer PRIMARY KEY REFERENCES billers (id),
    key text NOT NULL,
    created_at timestamptz NOT NULL
);

-- A utility's rows lead with its biller_id (db/distribution.py); the batch's id is still one
-- sequence for every utility, so a serial (batch and sequence) names one voucher.
CREATE TABLE voucher_batches (
    biller_id integer NOT NULL REFERENCES billers (id),
    id integer GENERATED ALWAYS AS IDENTITY
        CONSTRAINT voucher_batches_id CHECK (id <= 999999),  -- six digits of each serial
    face bigint NOT NULL CONSTRAINT voucher_batches_face CHECK (face > 0),
    count integer NOT NULL CONSTRAINT voucher_batches_count CHECK (count BETWEEN 1 AND 10000000),
    expires_on date NOT NULL,  -- the last day (Asia/Shanghai) a voucher may be redeemed
    issued_at timestamptz NOT NULL,
    issued_by text NOT NULL,
    PRIMARY KEY (biller_id, id)
);
CREATE INDEX voucher_batches_by_id ON voucher_batches (id);

-- One row per voucher, kept narrow: a batch is a million rows. The serial is the batch
-- (6 digits) and the sequence (8 digits); the state's time and why, for a void.
CREATE TABLE vouchers (
    biller_id integer NOT NULL,
    batch_id integer NOT NULL,
    seq integer NOT NULL,
    pin_hash bytea NOT NULL,
    state text NOT NULL CONSTRAINT vouchers_state CHECK (
        state IN ('ISSUED', 'ACTIVE', 'REDEEMED', 'EXPIRED', 'VOID')),
    state_at timestamptz NOT NULL,
    outlet_id integer REFERENCES outlets (id),  -- the outlet that sold it, if one did
    reason text,
    PRIMARY KEY (biller_id, batch_id, seq),
    FOREIGN KEY (biller_id, batch_id) REFERENCES voucher_batches (biller_id, id),
    -- the lookup at redemption; unique, so two vouchers never answer to one PIN
    CONSTRAINT vouchers_pin UNIQUE (biller_id, pin_hash)
);

-- The one redemption of a voucher (the primary key holds "at most once" even if every
-- other guard failed), with how its face value was applied.
CREATE TABLE voucher_redemptions (
    biller_id integer NOT NULL,
    batch_id integer NOT NULL,
    seq integer NOT NULL,
    payment_id text NOT NULL,
    account_no text NOT NULL,
    face bigint NOT NULL,
    bills jsonb NOT NULL,  -- [{{"bill_no", "amount"}}], oldest first
    prepaid bigint NOT NULL,
    credit bigint NOT NULL,
    redeemed_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, batch_id, seq),
    FOREIGN KEY (biller_id, batch_id, seq) REFERENCES vouchers (biller_id, batch_id, seq),
    FOREIGN KEY (biller_id, payment_id) REFERENCES payments (biller_id, id),
    UNIQUE (biller_id, payment_id),
    CONSTRAINT voucher_redemptions_parts CHECK (
        prepaid >= 0 AND credit >= 0 AND prepaid + credit <= face)
);

-- What a redemption left on a postpaid account, for its next bills; the ledger's
-- VOUCHER_CREDIT account of the utility is the book, this row the account's part of it.
-- The channel and payer of the last redemption pay the bills the credit writes off.
CREATE TABLE voucher_credits (
    biller_id integer NOT NULL,
    account_no text NOT NULL,
    balance bigint NOT NULL CONSTRAINT voucher_credits_balance CHECK (balance >= 0),
    channel_id integer NOT NULL REFERENCES channels (id),
    payer text NOT NULL,
    PRIMARY KEY (biller_id, account_no),
    FOREIGN KEY (biller_id, account_no)
        REFERENCES customer_accounts (biller_id, account_no)
);
CREATE INDEX voucher_credits_held ON voucher_credits (biller_id, account_no) WHERE balance > 0;

-- The brute-force brake (§12): invalid PINs by key ('payer:<channel>:<payer>',
-- 'account:<biller>:<account>'), and the keys locked out until a time. In the database,
-- so every server process sees them.
CREATE TABLE voucher_failures (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX voucher_failures_by_key ON voucher_failures (key, at);
CREATE TABLE voucher_lockouts (
    key text PRIMARY KEY,
    until timestamptz NOT NULL
);
"""


def upgrade() -> None:
    op.execute(UP)


# What the areas' files added for the vouchers goes too; prepaid_top_up's body is put back by
# the next upgrade's files (every file is applied again after a versioned migration ran).
DOWN = f"""
DROP FUNCTION IF EXISTS voucher_redeem, voucher_redeem_batch, vouchers_use_credit,
    vouchers_bills_covered, voucher_repeat, voucher_failed, vouchers_credit_new_bills,
    voucher_payable_movements, ledger_post_voucher_sale,
    ledger_post_voucher_redemption, ledger_post_voucher_credit_use, ledger_post_voucher_breakage,
    prepaid_credit,
    -- a batch of redemptions written set-wise (revision 0053's files)
    voucher_redeem_many, voucher_refusal, voucher_braked, voucher_brake_keys,
    vouchers_bills_covered_many, ledger_post_voucher_redemptions,
    -- an account's unpaid bills locked before its credit, by redemptions and bill imports alike
    vouchers_bills_locked CASCADE;
DROP TABLE voucher_lockouts, voucher_failures, voucher_credits, voucher_redemptions, vouchers,
    voucher_batches, voucher_keys CASCADE;
ALTER TABLE payments DROP CONSTRAINT payments_purpose_check,
    ADD CONSTRAINT payments_purpose_check CHECK (purpose IN ('bills', 'prepaid_topup'));
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check,
    ADD CONSTRAINT journal_entries_kind_check CHECK (kind IN ({ENTRY_KINDS}));
DELETE FROM ledger_accounts WHERE kind IN ('VOUCHER_LIABILITY', 'VOUCHER_CREDIT');
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check,
    ADD CONSTRAINT ledger_accounts_kind_check CHECK (kind IN ({ACCOUNT_KINDS}));
"""  # noqa: S608 (the module's own constants, no input)


def downgrade() -> None:
    op.execute(DOWN)
