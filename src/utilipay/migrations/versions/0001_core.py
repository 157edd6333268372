"""Core schema: channels, billers, accounts, bills, bindings, payments, ledger, outbox.

Every table that belongs to one biller leads its keys with ``biller_id``: tenants
are the shard key when one database is not enough.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

CATEGORIES = "'water','electricity','gas','heating','telecom','property','other'"

TABLES = f"""
CREATE TABLE channels (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_]{{2,32}}$'),
    name text NOT NULL,
    secret text NOT NULL CHECK (length(secret) >= 16),
    previous_secret text,
    webhook_url text,
    status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'DISABLED')),
    created_at timestamptz NOT NULL
);

CREATE TABLE billers (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_]{{2,32}}$'),
    name text NOT NULL,
    category text NOT NULL CHECK (category IN ({CATEGORIES})),
    region text NOT NULL DEFAULT '',
    parent_id integer REFERENCES billers (id),
    account_rule text NOT NULL,
    account_hint text NOT NULL DEFAULT '',
    mode text NOT NULL CHECK (mode IN ('hosted', 'remote')),
    status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'SUSPENDED')),
    min_payment bigint NOT NULL DEFAULT 1 CHECK (min_payment > 0),
    max_payment bigint NOT NULL DEFAULT 5000000 CHECK (max_payment >= min_payment),
    currency char(3) NOT NULL DEFAULT 'CNY',
    created_at timestamptz NOT NULL,
    CHECK (parent_id IS DISTINCT FROM id)
);

CREATE TABLE customer_accounts (
    biller_id integer NOT NULL REFERENCES billers (id),
    account_no text NOT NULL,
    holder_name text NOT NULL,
    address text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, account_no)
);

CREATE TABLE bills (
    biller_id integer NOT NULL,
    bill_no text NOT NULL,
    account_no text NOT NULL,
    period text NOT NULL CHECK (period ~ '^[0-9]{{4}}-(0[1-9]|1[0-2])$'),
    amount bigint NOT NULL CHECK (amount > 0),
    late_fee bigint NOT NULL DEFAULT 0 CHECK (late_fee >= 0),
    currency char(3) NOT NULL DEFAULT 'CNY',
    due_date date NOT NULL,
    status text NOT NULL DEFAULT 'UNPAID' CHECK (status IN ('UNPAID', 'PAID')),
    payment_id text,
    issued_at timestamptz NOT NULL,
    paid_at timestamptz,
    PRIMARY KEY (biller_id, bill_no),
    FOREIGN KEY (biller_id, account_no) REFERENCES customer_accounts,
    CHECK ((status = 'PAID') = (payment_id IS NOT NULL)),
    CHECK ((status = 'PAID') = (paid_at IS NOT NULL))
);
-- Not partial on status: paying a bill then stays a HOT update.
CREATE INDEX bills_by_account ON bills (biller_id, account_no);

CREATE TABLE bindings (
    biller_id integer NOT NULL REFERENCES billers (id),
    id text NOT NULL,
    channel_id integer NOT NULL REFERENCES channels (id),
    payer text NOT NULL,
    account_no text NOT NULL,
    holder text NOT NULL,
    created_at timestamptz NOT NULL,
    deleted_at timestamptz,
    PRIMARY KEY (biller_id, id)
);
CREATE UNIQUE INDEX bindings_id ON bindings (id);
CREATE UNIQUE INDEX bindings_one_live
    ON bindings (biller_id, account_no, channel_id, payer) WHERE deleted_at IS NULL;
CREATE INDEX bindings_by_payer ON bindings (channel_id, payer) WHERE deleted_at IS NULL;

CREATE TABLE payments (
    biller_id integer NOT NULL REFERENCES billers (id),
    id text NOT NULL,
    channel_id integer NOT NULL REFERENCES channels (id),
    order_id text NOT NULL,
    request_hash bytea NOT NULL,
    payer text NOT NULL,
    account_no text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    currency char(3) NOT NULL DEFAULT 'CNY',
    bill_nos text[] NOT NULL,
    status text NOT NULL CHECK (status IN ('PROCESSING', 'SUCCEEDED', 'FAILED')),
    failure_code text,
    receipt_no text,
    biller_serial text,
    created_at timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (biller_id, id),
    CHECK ((status = 'SUCCEEDED') = (receipt_no IS NOT NULL)),
    CHECK ((status = 'FAILED') = (failure_code IS NOT NULL)),
    CHECK ((status = 'PROCESSING') = (finished_at IS NULL))
);
-- The channel's order id is its idempotency key (channel-api.md §4).
CREATE UNIQUE INDEX payments_order ON payments (channel_id, order_id);
CREATE UNIQUE INDEX payments_id ON payments (id);

CREATE TABLE ledger_accounts (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code text NOT NULL UNIQUE,
    kind text NOT NULL CHECK (kind IN ('CHANNEL_RECEIVABLE', 'BILLER_PAYABLE')),
    biller_id integer REFERENCES billers (id),
    channel_id integer REFERENCES channels (id),
    currency char(3) NOT NULL DEFAULT 'CNY',
    created_at timestamptz NOT NULL,
    CHECK ((biller_id IS NULL) <> (channel_id IS NULL))
);
CREATE UNIQUE INDEX ledger_accounts_owner
    ON ledger_accounts (kind, coalesce(biller_id, 0), coalesce(channel_id, 0), currency);

CREATE TABLE journal_entries (
    biller_id integer NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    kind text NOT NULL CHECK (kind IN ('PAYMENT')),
    payment_id text,
    memo text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, id)
);
CREATE INDEX journal_entries_payment ON journal_entries (biller_id, payment_id);

-- Debits are positive, credits negative; the postings of an entry sum to zero.
CREATE TABLE postings (
    biller_id integer NOT NULL,
    entry_id bigint NOT NULL,
    line_no smallint NOT NULL,
    account_id integer NOT NULL,
    amount bigint NOT NULL CHECK (amount <> 0),
    currency char(3) NOT NULL DEFAULT 'CNY',
    PRIMARY KEY (biller_id, entry_id, line_no),
    FOREIGN KEY (biller_id, entry_id) REFERENCES journal_entries
);
CREATE INDEX postings_by_account ON postings (account_id);

CREATE TABLE outbox_events (
    biller_id integer NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    event_type text NOT NULL,
    aggregate_id text NOT NULL,
    payload jsonb NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, id)
);

CREATE TABLE channel_nonces (
    channel_id integer NOT NULL,
    nonce text NOT NULL,
    seen_at timestamptz NOT NULL,
    PRIMARY KEY (channel_id, nonce)
);

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor text NOT NULL,
    action text NOT NULL,
    object_type text NOT NULL,
    object_id text NOT NULL,
    reason text NOT NULL DEFAULT '',
    details jsonb NOT NULL DEFAULT '{{}}',
    at timestamptz NOT NULL
);

CREATE SEQUENCE receipt_seq;
CREATE SEQUENCE hosted_serial_seq;
"""

# The ledger is append-only, and every statement that adds postings leaves each
# entry it touched balanced (one statement per entry: no half-written entries).
LEDGER_GUARDS = """
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER journal_entries_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER postings_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT t.biller_id, t.entry_id, sum(p.amount) AS total, count(DISTINCT p.currency) AS currencies
      INTO bad
      FROM (SELECT DISTINCT biller_id, entry_id FROM new_postings) t
      JOIN postings p USING (biller_id, entry_id)
     GROUP BY t.biller_id, t.entry_id
    HAVING sum(p.amount) <> 0 OR count(DISTINCT p.currency) <> 1 OR count(*) < 2
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry %/% does not balance (sum %, % currencies)',
            bad.biller_id, bad.entry_id, bad.total, bad.currencies
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER postings_balanced
    AFTER INSERT ON postings REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_balanced();

CREATE TRIGGER payments_transition
    BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION payments_guard_transition();
"""

# A hosted biller's books are the hub's own tables, so for it accepting the
# payment, writing the bills off and booking the money are one transaction and,
# to keep a payment at one round trip, one call. A remote biller does the same
# three steps with the biller protocol in between.
#
# Outcomes: CREATED, EXISTING (same order, same request), IDEMPOTENCY_CONFLICT,
# REPLAYED (nonce seen), ACCOUNT_NOT_FOUND, NO_BILL_DUE, BILL_NOT_FOUND,
# BILL_ALREADY_PAID, AMOUNT_MISMATCH. Refusals write nothing but the nonce, so a refused request
# cannot be replayed later when the state has changed.
# A later revision's downgrade puts it back as it was (0034_voids).
PAYMENT_GUARD = """
-- A payment only ever moves PROCESSING -> SUCCEEDED or PROCESSING -> FAILED
-- (channel-api.md §5), and what the channel asked for never changes.
CREATE FUNCTION payments_guard_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'PROCESSING' AND NEW.status IS DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION 'payment % is % and final: refusing %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.biller_id, NEW.id, NEW.channel_id, NEW.order_id, NEW.request_hash, NEW.amount,
        NEW.account_no, NEW.bill_nos, NEW.currency)
       IS DISTINCT FROM
       (OLD.biller_id, OLD.id, OLD.channel_id, OLD.order_id, OLD.request_hash, OLD.amount,
        OLD.account_no, OLD.bill_nos, OLD.currency) THEN
        RAISE EXCEPTION 'payment %: the request it records is immutable', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
"""

PAY_HOSTED = """
CREATE FUNCTION pay_hosted(
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

    SELECT * INTO v_payment FROM payments WHERE channel_id = p_channel_id AND order_id = p_order_id;
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
            SELECT * INTO v_payment FROM payments
             WHERE channel_id = p_channel_id AND order_id = p_order_id;
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
            SELECT * INTO v_payment FROM payments
             WHERE channel_id = p_channel_id AND order_id = p_order_id;
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

    INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                          amount, bill_nos, status, receipt_no, biller_serial, created_at,
                          finished_at)
    VALUES (p_biller_id, p_id, p_channel_id, p_order_id, p_request_hash, p_payer, p_account_no,
            p_amount, v_bills, 'SUCCEEDED',
            p_receipt_prefix || lpad(nextval('receipt_seq')::text, 10, '0'),
            'H' || lpad(nextval('hosted_serial_seq')::text, 12, '0'), p_now, p_now)
    ON CONFLICT (channel_id, order_id) DO NOTHING
    RETURNING * INTO v_payment;
    IF NOT FOUND THEN  -- a concurrent twin with other bills won the order id
        SELECT * INTO v_payment FROM payments
         WHERE channel_id = p_channel_id AND order_id = p_order_id;
        RETURN QUERY SELECT * FROM pay_hosted_repeat(v_payment, p_request_hash);
        RETURN;
    END IF;

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

-- The outbox payload of a payment status change: what consumers need without a lookup.
CREATE FUNCTION payment_event(p payments) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'payment_id', p.id, 'biller_id', p.biller_id, 'channel_id', p.channel_id,
        'order_id', p.order_id, 'status', p.status, 'amount', p.amount, 'currency', p.currency,
        'account_no', p.account_no, 'bill_nos', to_jsonb(p.bill_nos), 'payer', p.payer,
        'receipt_no', p.receipt_no, 'biller_serial', p.biller_serial,
        'failure_code', p.failure_code);
$$;

CREATE FUNCTION pay_hosted_repeat(p_existing payments, p_request_hash bytea)
RETURNS TABLE (outcome text, detail text, payment payments) LANGUAGE sql AS $$
    SELECT CASE WHEN p_existing.request_hash = p_request_hash
                THEN 'EXISTING' ELSE 'IDEMPOTENCY_CONFLICT' END,
           CASE WHEN p_existing.request_hash = p_request_hash THEN NULL
                ELSE format('order %s was already used for a different request',
                            p_existing.order_id) END,
           p_existing;
$$;
"""


def upgrade() -> None:
    op.execute(TABLES)
    op.execute(PAYMENT_GUARD)  # before the guards: they add its trigger
    op.execute(LEDGER_GUARDS)
    op.execute(PAY_HOSTED)


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION pay_hosted(text, integer, text, text, bytea, integer, text, bigint, text[],
                                 text, timestamptz, text, integer, integer);
        DROP FUNCTION payment_event(payments);
        DROP FUNCTION pay_hosted_repeat(payments, bytea);
        DROP TABLE audit_log, channel_nonces, outbox_events, postings, journal_entries,
                   ledger_accounts, payments, bindings, bills, customer_accounts, billers, channels;
        DROP FUNCTION ledger_check_balanced();
        DROP FUNCTION ledger_refuse_change();
        DROP FUNCTION payments_guard_transition();
        DROP SEQUENCE receipt_seq;
        DROP SEQUENCE hosted_serial_seq;
        """
    )
