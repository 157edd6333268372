"""The front line (channel-api.md §11): a channel's kind; agent channels' outlets with their
float, terminals with their own secrets, operators; which outlet, terminal and operator took
a payment; float deposits and shift closes.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

UP = """
-- The float is a liability of the hub to the outlet's owner, paid into the hub's bank; a
-- deposit credits the float, a void gives a payment back to it.
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check,
    ADD CONSTRAINT ledger_accounts_kind_check
        CHECK (kind IN ('CHANNEL_RECEIVABLE', 'BILLER_PAYABLE', 'PREPAID_BALANCE',
                        'BILLER_SETTLED', 'HUB_FEE_INCOME', 'REFUND_PAYABLE',
                        'OUTLET_FLOAT', 'HUB_BANK'));
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check,
    ADD CONSTRAINT journal_entries_kind_check
        CHECK (kind IN ('PAYMENT', 'PREPAID_TOPUP', 'PREPAID_ACCRUAL', 'SETTLEMENT',
                        'FLOAT_DEPOSIT', 'PAYMENT_VOID'));

-- Which kind of channel this is: the agent channels run outlets (§11); the reports split
-- collection by kind.
ALTER TABLE channels ADD COLUMN kind text NOT NULL DEFAULT 'wallet'
    CONSTRAINT channels_kind CHECK (kind IN ('wallet', 'bank', 'pos', 'agent'));

CREATE TABLE outlets (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id integer NOT NULL REFERENCES channels (id),
    code text NOT NULL CONSTRAINT outlets_code CHECK (code ~ '^[A-Za-z0-9_.-]{1,32}$'),
    name text NOT NULL,
    kind text NOT NULL CONSTRAINT outlets_kind CHECK (kind IN ('shop', 'counter', 'collector')),
    region text NOT NULL,
    status text NOT NULL CONSTRAINT outlets_status CHECK (status IN ('ACTIVE', 'SUSPENDED')),
    low_threshold bigint NOT NULL CONSTRAINT outlets_low_threshold CHECK (low_threshold >= 0),
    -- set when the float falls below the threshold, cleared when it is back above it: the
    -- owner is told once per episode
    low_since timestamptz,
    owner_name text,
    owner_phone text,
    owner_email text,
    -- the float's ledger account (OUTLET_FLOAT), opened with the outlet
    float_account integer NOT NULL UNIQUE REFERENCES ledger_accounts (id),
    created_at timestamptz NOT NULL,
    UNIQUE (channel_id, code)
);

-- The float as a row, so that a payment checks and takes it with one locked update: the
-- ledger account is the book, this row its running balance (``utilipay check`` proves them
-- equal). ``held`` is what remote write-offs still PROCESSING have reserved.
CREATE TABLE outlet_floats (
    outlet_id integer PRIMARY KEY REFERENCES outlets (id),
    balance bigint NOT NULL,
    held bigint NOT NULL CONSTRAINT outlet_floats_held CHECK (held >= 0),
    -- the float can never go below zero, whatever races: the database refuses it
    CONSTRAINT outlet_floats_covered CHECK (balance >= held)
);

CREATE TABLE terminals (
    id text PRIMARY KEY,
    outlet_id integer NOT NULL REFERENCES outlets (id),
    type text NOT NULL CONSTRAINT terminals_type CHECK (
        type IN ('self_service_full', 'self_service_simple', 'pos_fixed', 'pos_mobile')),
    label text NOT NULL,
    secret text NOT NULL,  -- sealed (security/sealing.py)
    previous_secret text,  -- the secret before the last rotation, until it is dropped
    status text NOT NULL CONSTRAINT terminals_status CHECK (status IN ('ACTIVE', 'REVOKED')),
    created_at timestamptz NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX terminals_of_outlet ON terminals (outlet_id);

CREATE TABLE outlet_operators (
    outlet_id integer NOT NULL REFERENCES outlets (id),
    code text NOT NULL CONSTRAINT outlet_operators_code CHECK (code ~ '^[A-Za-z0-9_.-]{1,32}$'),
    name text NOT NULL,
    status text NOT NULL CONSTRAINT outlet_operators_status CHECK (
        status IN ('ACTIVE', 'DISABLED')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (outlet_id, code)
);

-- Which outlet, terminal and operator took a payment, with what, when, and where its
-- amount stands in the float: HELD (a remote write-off still PROCESSING), TAKEN (written
-- off), RELEASED (the write-off failed: never taken), RETURNED (voided: given back).
CREATE TABLE outlet_payments (
    biller_id integer NOT NULL,
    payment_id text NOT NULL,
    outlet_id integer NOT NULL REFERENCES outlets (id),
    terminal_id text NOT NULL REFERENCES terminals (id),
    operator_code text,
    tender text NOT NULL CONSTRAINT outlet_payments_tender CHECK (
        tender IN ('cash', 'card', 'voucher')),
    amount bigint NOT NULL CONSTRAINT outlet_payments_amount CHECK (amount > 0),
    collected_at timestamptz,  -- store and forward: when the collector took the money
    received_at timestamptz NOT NULL,
    float_state text NOT NULL CONSTRAINT outlet_payments_float_state CHECK (
        float_state IN ('HELD', 'TAKEN', 'RELEASED', 'RETURNED')),
    PRIMARY KEY (biller_id, payment_id),
    FOREIGN KEY (biller_id, payment_id) REFERENCES payments (biller_id, id),
    FOREIGN KEY (outlet_id, operator_code) REFERENCES outlet_operators (outlet_id, code)
);
CREATE INDEX outlet_payments_by_outlet ON outlet_payments (outlet_id, received_at);

CREATE TABLE float_deposits (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outlet_id integer NOT NULL REFERENCES outlets (id),
    amount bigint NOT NULL CONSTRAINT float_deposits_amount CHECK (amount > 0),
    -- the bank's reference of the transfer: a transfer is credited once, whoever records it
    bank_reference text NOT NULL UNIQUE,
    source text NOT NULL CONSTRAINT float_deposits_source CHECK (
        source IN ('OPERATOR', 'STATEMENT')),
    recorded_by text NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX float_deposits_by_outlet ON float_deposits (outlet_id, recorded_at);

CREATE TABLE outlet_shifts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outlet_id integer NOT NULL,
    operator_code text NOT NULL,
    opened_at timestamptz NOT NULL,
    closed_at timestamptz NOT NULL,
    count integer NOT NULL,
    amount bigint NOT NULL,
    cash_expected bigint NOT NULL,
    cash_counted bigint NOT NULL,
    difference bigint NOT NULL,
    voids integer NOT NULL,
    CONSTRAINT outlet_shifts_difference CHECK (difference = cash_counted - cash_expected),
    CONSTRAINT outlet_shifts_order CHECK (closed_at >= opened_at),
    FOREIGN KEY (outlet_id, operator_code) REFERENCES outlet_operators (outlet_id, code)
);
CREATE INDEX outlet_shifts_of_operator ON outlet_shifts (outlet_id, operator_code, closed_at);
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(
        "DROP TABLE outlet_shifts, float_deposits, outlet_payments, outlet_operators, terminals,"
        " outlet_floats, outlets; ALTER TABLE channels DROP COLUMN kind;"
        " DELETE FROM ledger_accounts WHERE kind IN ('OUTLET_FLOAT', 'HUB_BANK');"
        " ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check,"
        "  ADD CONSTRAINT journal_entries_kind_check CHECK (kind IN ('PAYMENT', 'PREPAID_TOPUP',"
        "  'PREPAID_ACCRUAL', 'SETTLEMENT'));"
        " ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check,"
        "  ADD CONSTRAINT ledger_accounts_kind_check CHECK (kind IN ('CHANNEL_RECEIVABLE',"
        "  'BILLER_PAYABLE', 'PREPAID_BALANCE', 'BILLER_SETTLED', 'HUB_FEE_INCOME',"
        "  'REFUND_PAYABLE'))"
    )
