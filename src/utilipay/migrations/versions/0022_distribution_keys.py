"""Keys for a distributed PostgreSQL: every utility's table leads each of its keys with biller_id.

``utilipay.db.distribution`` classes every table (distributed by ``biller_id``, reference,
local) and ``docs/distribution.md`` says why. This revision fixes the distributed tables
whose keys did not lead with ``biller_id``:

- ``payments``: the channel's order id is its idempotency key across every biller
  (channel-api.md §4), a rule no key led by ``biller_id`` can hold. It moves to
  ``payment_orders`` (local), keyed by (channel, order id), naming the payment: every
  statement that creates a payment claims its order there first, in the same
  transaction, and finds the payment of an order through it (``order_payment``).
  ``pay_hosted`` and ``prepaid_top_up`` are redefined to do so.
- hub-issued ids (payments, bindings, mandates, debits, notifications, meter commands)
  were unique alone besides their (biller_id, id) key; they keep a plain index for the
  lookups by id. Their uniqueness across billers is the id's own: a ULID (48 bits of
  time, 80 random) or a sequence.
- ``settlement_lines``: "a branch's day is settled once, to one payee" crossed payees; it
  moves to ``settlement_branch_days``, distributed by the branch.
- ``payouts.reference``: unique per payee; across payees it is so by construction
  (``STL-<payee code>-<day>``, and biller codes are unique).
- ``prepaid_accounts``: its balance account is unique per biller, and its foreign key
  now names the biller too, so a balance account of another biller cannot be shared:
  unique per biller is unique everywhere.
- ``bill_claims`` had no primary key; it gets (biller_id, payment_id, bill_no), which
  also serves the lookups by payment (a logical-replication shard move needs one).

On a database with data the new tables are filled from the rows they index. Foreign keys
from ``payment_orders`` and ``settlement_branch_days`` to the rows they name cannot exist
on a distributed deployment (local or non-colocated); ``utilipay check`` proves them.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-23
"""

from __future__ import annotations

import importlib
import re

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# hub-issued ids that were unique alone: table -> the index that made them so
UNIQUE_IDS = {
    "payments": "payments_id",
    "bindings": "bindings_id",
    "mandates": "mandates_id",
    "debits": "debits_id",
    "notifications": "notifications_id",
    "meter_commands": "meter_commands_id",
}

KEYS = """
-- No foreign keys: the payment's own check its biller and channel, and a distributed
-- deployment allows none from a local table to a distributed one (utilipay check
-- proves that each payment and its order row name each other).
CREATE TABLE payment_orders (
    channel_id integer NOT NULL,
    order_id text NOT NULL,
    biller_id integer NOT NULL,
    payment_id text NOT NULL,
    PRIMARY KEY (channel_id, order_id)
);
INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id)
SELECT channel_id, order_id, biller_id, id FROM payments;
DROP INDEX payments_order;

CREATE TABLE settlement_branch_days (
    biller_id integer NOT NULL REFERENCES billers (id),  -- the branch whose day it is
    business_date date NOT NULL,
    payee_id integer NOT NULL REFERENCES billers (id),  -- whose settlement has its line
    PRIMARY KEY (biller_id, business_date)
);
INSERT INTO settlement_branch_days (biller_id, business_date, payee_id)
SELECT branch_id, business_date, biller_id FROM settlement_lines;
DROP INDEX settlement_lines_branch_day;

ALTER TABLE payouts DROP CONSTRAINT payouts_reference_key, ADD UNIQUE (biller_id, reference);

ALTER TABLE ledger_accounts ADD UNIQUE (biller_id, id);
ALTER TABLE prepaid_accounts DROP CONSTRAINT prepaid_accounts_ledger_account_id_fkey,
    ADD FOREIGN KEY (biller_id, ledger_account_id) REFERENCES ledger_accounts (biller_id, id);
DROP INDEX prepaid_accounts_ledger;
CREATE UNIQUE INDEX prepaid_accounts_ledger ON prepaid_accounts (biller_id, ledger_account_id);

ALTER TABLE bill_claims ADD PRIMARY KEY (biller_id, payment_id, bill_no);
DROP INDEX bill_claims_by_payment;
"""

KEYS_UNDONE = """
DROP INDEX prepaid_accounts_ledger;
CREATE UNIQUE INDEX prepaid_accounts_ledger ON prepaid_accounts (ledger_account_id);
ALTER TABLE prepaid_accounts DROP CONSTRAINT prepaid_accounts_biller_id_ledger_account_id_fkey,
    ADD FOREIGN KEY (ledger_account_id) REFERENCES ledger_accounts (id);
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_biller_id_id_key;

ALTER TABLE payouts DROP CONSTRAINT payouts_biller_id_reference_key, ADD UNIQUE (reference);

CREATE UNIQUE INDEX settlement_lines_branch_day ON settlement_lines (branch_id, business_date);
DROP TABLE settlement_branch_days;

CREATE UNIQUE INDEX payments_order ON payments (channel_id, order_id);
DROP TABLE payment_orders;

CREATE INDEX bill_claims_by_payment ON bill_claims (biller_id, payment_id);
ALTER TABLE bill_claims DROP CONSTRAINT bill_claims_pkey;
"""

# The payment of a channel's order, wherever its biller is.
ORDER_PAYMENT = """
CREATE FUNCTION order_payment(p_channel_id integer, p_order_id text) RETURNS SETOF payments
LANGUAGE sql STABLE AS $$
    SELECT p.* FROM payment_orders o
      JOIN payments p ON p.biller_id = o.biller_id AND p.id = o.payment_id
     WHERE o.channel_id = p_channel_id AND o.order_id = p_order_id
$$;
"""

# pay_hosted of 0001, its order found through payment_orders and claimed there.
PAY_HOSTED = """
CREATE OR REPLACE FUNCTION pay_hosted(
    p_id text, p_channel_id integer, p_nonce text, p_order_id text, p_request_hash bytea,
    p_biller_id integer, p_account_no text, p_amount bigint, p_bill_nos text[], p_payer text,
    p_now timestamptz, p_receipt_prefix text,
    p_receivable_account integer, p_payable_account integer
) RETURNS TABLE (outcome text, detail text, payment payments)
LANGUAGE plpgsql AS $$
DECLARE
    v_payment payments;
    v_bills text[];
    v_total bigint;
    v_found integer;
    v_foreign text;
    v_paid text;
    v_entry bigint;
BEGIN
    IF p_nonce IS NOT NULL THEN
        INSERT INTO channel_nonces VALUES (p_channel_id, p_nonce, p_now) ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'REPLAYED', 'nonce already used', NULL::payments;
            RETURN;
        END IF;
    END IF;

    SELECT * INTO v_payment FROM order_payment(p_channel_id, p_order_id);
    IF FOUND THEN
        RETURN QUERY SELECT * FROM pay_hosted_repeat(v_payment, p_request_hash);
        RETURN;
    END IF;

    -- Lock the bills in a fixed order, so concurrent payments queue instead of deadlocking.
    IF p_bill_nos IS NULL THEN
        SELECT array_agg(b.bill_no ORDER BY b.bill_no), sum(b.amount + b.late_fee), count(*)
          INTO v_bills, v_total, v_found
          FROM (SELECT bill_no, amount, late_fee FROM bills
                 WHERE biller_id = p_biller_id AND account_no = p_account_no AND status = 'UNPAID'
                 ORDER BY bill_no FOR UPDATE) b;
        IF v_found = 0 THEN
            SELECT * INTO v_payment FROM order_payment(p_channel_id, p_order_id);
            IF FOUND THEN  -- a concurrent twin of this request paid them first
                RETURN QUERY SELECT * FROM pay_hosted_repeat(v_payment, p_request_hash);
                RETURN;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM customer_accounts
                            WHERE biller_id = p_biller_id AND account_no = p_account_no) THEN
                RETURN QUERY SELECT 'ACCOUNT_NOT_FOUND',
                    format('biller has no account %s', p_account_no), NULL::payments;
                RETURN;
            END IF;
            RETURN QUERY SELECT 'NO_BILL_DUE', format('account %s has nothing due', p_account_no),
                                NULL::payments;
            RETURN;
        END IF;
    ELSE
        SELECT array_agg(b.bill_no ORDER BY b.bill_no), sum(b.amount + b.late_fee), count(*),
               min(b.bill_no) FILTER (WHERE b.account_no <> p_account_no),
               min(b.bill_no) FILTER (WHERE b.status <> 'UNPAID')
          INTO v_bills, v_total, v_found, v_foreign, v_paid
          FROM (SELECT bill_no, account_no, status, amount, late_fee FROM bills
                 WHERE biller_id = p_biller_id AND bill_no = ANY (p_bill_nos)
                 ORDER BY bill_no FOR UPDATE) b;
        IF v_found < cardinality(p_bill_nos) OR v_foreign IS NOT NULL THEN
            IF NOT EXISTS (SELECT 1 FROM customer_accounts
                            WHERE biller_id = p_biller_id AND account_no = p_account_no) THEN
                RETURN QUERY SELECT 'ACCOUNT_NOT_FOUND',
                    format('biller has no account %s', p_account_no), NULL::payments;
                RETURN;
            END IF;
            RETURN QUERY SELECT 'BILL_NOT_FOUND',
                format('not every bill of %s is a bill of account %s',
                       array_to_string(p_bill_nos, ','), p_account_no),
                NULL::payments;
            RETURN;
        END IF;
        IF v_paid IS NOT NULL THEN
            SELECT * INTO v_payment FROM order_payment(p_channel_id, p_order_id);
            IF FOUND THEN  -- a concurrent twin of this request paid it first
                RETURN QUERY SELECT * FROM pay_hosted_repeat(v_payment, p_request_hash);
                RETURN;
            END IF;
            RETURN QUERY SELECT 'BILL_ALREADY_PAID', format('bill %s is already paid', v_paid),
                                NULL::payments;
            RETURN;
        END IF;
    END IF;

    IF v_total <> p_amount THEN
        RETURN QUERY SELECT 'AMOUNT_MISMATCH', format('bills total %s, got %s', v_total, p_amount),
                            NULL::payments;
        RETURN;
    END IF;

    INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id)
    VALUES (p_channel_id, p_order_id, p_biller_id, p_id)
    ON CONFLICT (channel_id, order_id) DO NOTHING;
    IF NOT FOUND THEN  -- a concurrent twin with other bills won the order id
        SELECT * INTO v_payment FROM order_payment(p_channel_id, p_order_id);
        RETURN QUERY SELECT * FROM pay_hosted_repeat(v_payment, p_request_hash);
        RETURN;
    END IF;
    INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                          amount, bill_nos, status, receipt_no, biller_serial, created_at,
                          finished_at)
    VALUES (p_biller_id, p_id, p_channel_id, p_order_id, p_request_hash, p_payer, p_account_no,
            p_amount, v_bills, 'SUCCEEDED',
            p_receipt_prefix || lpad(nextval('receipt_seq')::text, 10, '0'),
            'H' || lpad(nextval('hosted_serial_seq')::text, 12, '0'), p_now, p_now)
    RETURNING * INTO v_payment;

    UPDATE bills SET status = 'PAID', payment_id = p_id, paid_at = p_now
     WHERE biller_id = p_biller_id AND bill_no = ANY (v_bills);

    INSERT INTO journal_entries (biller_id, kind, payment_id, created_at)
    VALUES (p_biller_id, 'PAYMENT', p_id, p_now) RETURNING id INTO v_entry;
    INSERT INTO postings (biller_id, entry_id, line_no, account_id, amount)
    VALUES (p_biller_id, v_entry, 1, p_receivable_account, p_amount),
           (p_biller_id, v_entry, 2, p_payable_account, -p_amount);

    INSERT INTO outbox_events (biller_id, event_type, aggregate_id, payload, occurred_at)
    VALUES (p_biller_id, 'payment.succeeded', p_id, payment_event(v_payment), p_now);

    RETURN QUERY SELECT 'CREATED', NULL::text, v_payment;
END $$;
"""

# prepaid_top_up of 0011, its order claimed in payment_orders.
TOP_UP = """
CREATE OR REPLACE FUNCTION prepaid_top_up(
    p_id text, p_channel_id integer, p_order_id text, p_request_hash bytea,
    p_biller_id integer, p_account_no text, p_amount bigint, p_payer text,
    p_now timestamptz, p_receipt_prefix text, p_receivable_account integer
) RETURNS TABLE (outcome text, detail text, payment payments)
LANGUAGE plpgsql AS $$
DECLARE
    v_payment payments;
    v_account prepaid_accounts;
    v_biller billers;
    v_was text;
    v_state text;
    v_entry bigint;
    v_month date := date_trunc('month', p_now AT TIME ZONE 'Asia/Shanghai')::date;
BEGIN
    SELECT * INTO v_account FROM prepaid_accounts
     WHERE biller_id = p_biller_id AND account_no = p_account_no FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'NOT_PREPAID', format('account %s is not prepaid', p_account_no),
                            NULL::payments;
        RETURN;
    END IF;
    SELECT * INTO v_biller FROM billers WHERE id = p_biller_id;

    INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id)
    VALUES (p_channel_id, p_order_id, p_biller_id, p_id)
    ON CONFLICT (channel_id, order_id) DO NOTHING;
    IF NOT FOUND THEN  -- the same order id was taken meanwhile
        SELECT * INTO v_payment FROM order_payment(p_channel_id, p_order_id);
        RETURN QUERY SELECT * FROM pay_hosted_repeat(v_payment, p_request_hash);
        RETURN;
    END IF;
    INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                          amount, bill_nos, status, receipt_no, biller_serial, created_at,
                          finished_at, purpose)
    VALUES (p_biller_id, p_id, p_channel_id, p_order_id, p_request_hash, p_payer, p_account_no,
            p_amount, '{}', 'SUCCEEDED',
            p_receipt_prefix || lpad(nextval('receipt_seq')::text, 10, '0'),
            'H' || lpad(nextval('hosted_serial_seq')::text, 12, '0'), p_now, p_now,
            'prepaid_topup')
    RETURNING * INTO v_payment;

    INSERT INTO journal_entries (biller_id, kind, payment_id, memo, created_at)
    VALUES (p_biller_id, 'PREPAID_TOPUP', p_id, 'top-up of ' || p_account_no, p_now)
    RETURNING id INTO v_entry;
    INSERT INTO postings (biller_id, entry_id, line_no, account_id, amount)
    VALUES (p_biller_id, v_entry, 1, p_receivable_account, p_amount),
           (p_biller_id, v_entry, 2, v_account.ledger_account_id, -p_amount);

    v_was := v_account.state;
    v_state := prepaid_next_state(v_account.state, v_account.balance + p_amount,
                                  coalesce(v_account.reminder, v_biller.prepaid_reminder));
    UPDATE prepaid_accounts
       SET balance = balance + p_amount,
           state = v_state,
           state_since = CASE WHEN v_state = state THEN state_since ELSE p_now END,
           notified = CASE WHEN v_state = 'NORMAL' THEN '{}' ELSE notified END
     WHERE biller_id = p_biller_id AND account_no = p_account_no
    RETURNING * INTO v_account;

    INSERT INTO outbox_events (biller_id, event_type, aggregate_id, payload, occurred_at)
    VALUES (p_biller_id, 'payment.succeeded', p_id,
            payment_event(v_payment) || jsonb_build_object('balance', v_account.balance), p_now);
    IF v_was = 'CUT' AND v_state <> 'CUT' THEN  -- the worker decides the reconnect
        INSERT INTO outbox_events (biller_id, event_type, aggregate_id, payload, occurred_at)
        VALUES (p_biller_id, 'prepaid.restored', p_account_no,
                prepaid_event(v_account, jsonb_build_object('payment_id', p_id)), p_now);
    END IF;

    IF v_biller.prepaid_reward_points > 0 AND p_amount >= v_biller.prepaid_reward_min THEN
        INSERT INTO prepaid_rewards VALUES (p_biller_id, p_account_no, v_month, p_id,
                                            v_biller.prepaid_reward_points, p_now)
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            INSERT INTO outbox_events (biller_id, event_type, aggregate_id, payload, occurred_at)
            VALUES (p_biller_id, 'prepaid.rewarded', p_account_no,
                    prepaid_event(v_account, jsonb_build_object(
                        'payment_id', p_id, 'points', v_biller.prepaid_reward_points,
                        'month', to_char(v_month, 'YYYY-MM'))), p_now);
        END IF;
    END IF;
    RETURN QUERY SELECT 'CREATED', NULL::text, v_payment;
END $$;
"""


def _replacing(revision_module: str, sql: str, function: str) -> str:
    """A function as an earlier revision defined it, to define it so again."""
    module = importlib.import_module(f"utilipay.migrations.versions.{revision_module}")
    found = re.search(rf"CREATE FUNCTION {function}\(.*?END \$\$;", getattr(module, sql), re.S)
    if found is None:
        raise LookupError(f"{revision_module}.{sql} defines no function {function}")
    return found.group(0).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    for table, index in UNIQUE_IDS.items():
        op.execute(f"DROP INDEX {index}; CREATE INDEX {table}_by_id ON {table} (id)")
    op.execute(KEYS)
    op.execute(ORDER_PAYMENT)
    op.execute(PAY_HOSTED)
    op.execute(TOP_UP)


def downgrade() -> None:
    op.execute(_replacing("0001_core", "PAY_HOSTED", "pay_hosted"))
    op.execute(_replacing("0011_prepaid", "TOP_UP", "prepaid_top_up"))
    op.execute("DROP FUNCTION order_payment(integer, text)")
    op.execute(KEYS_UNDONE)
    for table, index in UNIQUE_IDS.items():
        op.execute(f"DROP INDEX {table}_by_id; CREATE UNIQUE INDEX {index} ON {table} (id)")
