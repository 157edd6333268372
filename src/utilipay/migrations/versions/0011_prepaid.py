"""Prepaid smart payment (智能交费): balances, daily accrual, states, rewards, statements.

- ``prepaid_accounts``: one per account in prepaid mode: its ledger account (the
  balance is the ledger's; ``balance`` is a cache that ``utilipay check`` proves),
  its state (NORMAL, LOW, ARREARS, CUT), the low-balance episode it is in and the
  notices sent in it, and where its daily accrual stands (band and month totals).
- ``prepaid_accruals``: one row per account and day settled: the usage, the
  tariff version, the exact charge and what was posted (fen), the balance after.
- ``prepaid_rewards``: the pre-store reward, at most one per account and month.
- ``prepaid_statements``: the monthly statement, one per account and month.
- ``payments.purpose``: a payment pays bills or tops a prepaid balance up.
- ``postings.line_no`` becomes an integer: a day's accrual is one journal entry
  per biller with a line per account.
- billers: the reminder amount, the grace before a cut, the reward rule;
  mandates: the amount of an automatic top-up; debits: the episode a top-up serves.
- ``prepaid_next_state``: the state rule of ``prepaid/rules.py`` in SQL, and
  ``prepaid_top_up``: a top-up in one call, like ``pay_hosted`` for bills.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = """
ALTER TABLE postings ALTER COLUMN line_no TYPE integer;

-- A prepaid balance is a ledger account per customer account: many per biller.
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check,
    ADD CONSTRAINT ledger_accounts_kind_check
        CHECK (kind IN ('CHANNEL_RECEIVABLE', 'BILLER_PAYABLE', 'PREPAID_BALANCE'));
DROP INDEX ledger_accounts_owner;
CREATE UNIQUE INDEX ledger_accounts_owner
    ON ledger_accounts (kind, coalesce(biller_id, 0), coalesce(channel_id, 0), currency)
    WHERE kind <> 'PREPAID_BALANCE';
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check,
    ADD CONSTRAINT journal_entries_kind_check
        CHECK (kind IN ('PAYMENT', 'PREPAID_TOPUP', 'PREPAID_ACCRUAL'));

ALTER TABLE payments
    ADD COLUMN purpose text NOT NULL DEFAULT 'bills'
        CHECK (purpose IN ('bills', 'prepaid_topup'));

ALTER TABLE billers
    -- below it (fen) an account is LOW: the fee warning, and the automatic top-up
    ADD COLUMN prepaid_reminder bigint NOT NULL DEFAULT 2000 CHECK (prepaid_reminder >= 0),
    -- how long an account stays in ARREARS before it is cut
    ADD COLUMN prepaid_cut_grace_s integer NOT NULL DEFAULT 86400
        CHECK (prepaid_cut_grace_s >= 0),
    -- the pre-store reward: points for a top-up of at least reward_min, once a month
    ADD COLUMN prepaid_reward_min bigint NOT NULL DEFAULT 5000 CHECK (prepaid_reward_min > 0),
    ADD COLUMN prepaid_reward_points integer NOT NULL DEFAULT 0
        CHECK (prepaid_reward_points >= 0);

ALTER TABLE mandates ADD COLUMN topup_amount bigint CHECK (topup_amount > 0);

ALTER TABLE debits ADD COLUMN episode integer;
-- One automatic top-up per low-balance episode, whatever becomes of it.
CREATE UNIQUE INDEX debits_one_topup_per_episode ON debits (biller_id, account_no, episode)
    WHERE purpose = 'prepaid_topup';

CREATE TABLE prepaid_accounts (
    biller_id integer NOT NULL,
    account_no text NOT NULL,
    ledger_account_id integer NOT NULL REFERENCES ledger_accounts (id),
    balance bigint NOT NULL,
    currency char(3) NOT NULL DEFAULT 'CNY',
    state text NOT NULL CHECK (state IN ('NORMAL', 'LOW', 'ARREARS', 'CUT')),
    state_since timestamptz NOT NULL,
    episode integer NOT NULL DEFAULT 0,
    notified text[] NOT NULL DEFAULT '{}',
    cuts integer NOT NULL DEFAULT 0,
    reminder bigint CHECK (reminder >= 0),  -- NULL: the biller's
    accrue_from date NOT NULL,
    accrued_through date,
    band_start date,
    band_usage numeric(16, 3) NOT NULL DEFAULT 0,
    month_start date,
    month_exact numeric(20, 6) NOT NULL DEFAULT 0,
    enrolled_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, account_no),
    FOREIGN KEY (biller_id, account_no) REFERENCES customer_accounts
) WITH (fillfactor = 80);
CREATE UNIQUE INDEX prepaid_accounts_ledger ON prepaid_accounts (ledger_account_id);

CREATE TABLE prepaid_accruals (
    biller_id integer NOT NULL,
    account_no text NOT NULL,
    day date NOT NULL,
    tariff_version bigint NOT NULL,
    usage numeric(14, 3) NOT NULL,
    peak numeric(14, 3) NOT NULL,
    flat numeric(14, 3) NOT NULL,
    valley numeric(14, 3) NOT NULL,
    band_usage numeric(16, 3) NOT NULL,  -- in the band period, after this day
    exact_charge numeric(20, 6) NOT NULL,  -- fen, unrounded
    posted bigint NOT NULL,  -- fen taken from the balance for this day
    balance_after bigint NOT NULL,
    entry_id bigint,  -- the day's journal entry (none when nothing was posted)
    PRIMARY KEY (biller_id, account_no, day)
);

CREATE TABLE prepaid_rewards (
    biller_id integer NOT NULL,
    account_no text NOT NULL,
    month date NOT NULL,
    payment_id text NOT NULL,
    points integer NOT NULL CHECK (points > 0),
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, account_no, month)
);

CREATE TABLE prepaid_statements (
    biller_id integer NOT NULL,
    account_no text NOT NULL,
    month date NOT NULL,
    opening_balance bigint NOT NULL,
    top_ups bigint NOT NULL,
    charges bigint NOT NULL,
    closing_balance bigint NOT NULL,
    usage numeric(16, 3) NOT NULL,
    days integer NOT NULL,
    points integer NOT NULL,
    issued_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, account_no, month)
);
"""

# The state rule (prepaid/rules.py): positive and at least the reminder amount is
# NORMAL, positive below it LOW, zero or less ARREARS; a CUT account stays CUT until
# its balance is positive again.
STATE = """
CREATE FUNCTION prepaid_next_state(state text, balance bigint, reminder bigint)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN balance > 0 AND balance >= reminder THEN 'NORMAL'
                WHEN balance > 0 THEN 'LOW'
                WHEN state = 'CUT' THEN 'CUT'
                ELSE 'ARREARS' END
$$;

-- The outbox payload of a prepaid account's news.
CREATE FUNCTION prepaid_event(a prepaid_accounts, extra jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'biller_id', a.biller_id, 'account_no', a.account_no, 'balance', a.balance,
        'currency', a.currency, 'state', a.state, 'episode', a.episode, 'cuts', a.cuts) || extra
$$;

CREATE OR REPLACE FUNCTION payment_event(p payments) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'payment_id', p.id, 'biller_id', p.biller_id, 'channel_id', p.channel_id,
        'order_id', p.order_id, 'status', p.status, 'amount', p.amount, 'currency', p.currency,
        'account_no', p.account_no, 'bill_nos', to_jsonb(p.bill_nos), 'payer', p.payer,
        'receipt_no', p.receipt_no, 'biller_serial', p.biller_serial,
        'failure_code', p.failure_code, 'purpose', p.purpose);
$$;
"""

# A top-up, in one call: the payment, its ledger entry (the channel owes the money, the
# account's balance holds it), the new balance and state, a reconnect when it ends a cut,
# the month's reward. Outcomes: CREATED, EXISTING, IDEMPOTENCY_CONFLICT (same order id,
# another request), NOT_PREPAID.
TOP_UP = """
CREATE FUNCTION prepaid_top_up(
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

    INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                          amount, bill_nos, status, receipt_no, biller_serial, created_at,
                          finished_at, purpose)
    VALUES (p_biller_id, p_id, p_channel_id, p_order_id, p_request_hash, p_payer, p_account_no,
            p_amount, '{}', 'SUCCEEDED',
            p_receipt_prefix || lpad(nextval('receipt_seq')::text, 10, '0'),
            'H' || lpad(nextval('hosted_serial_seq')::text, 12, '0'), p_now, p_now,
            'prepaid_topup')
    ON CONFLICT (channel_id, order_id) DO NOTHING
    RETURNING * INTO v_payment;
    IF NOT FOUND THEN  -- the same order id was taken meanwhile
        SELECT * INTO v_payment FROM payments
         WHERE channel_id = p_channel_id AND order_id = p_order_id;
        RETURN QUERY SELECT * FROM pay_hosted_repeat(v_payment, p_request_hash);
        RETURN;
    END IF;

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


def upgrade() -> None:
    op.execute(TABLES)
    op.execute(STATE)
    op.execute(TOP_UP)


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION prepaid_top_up(text, integer, text, bytea, integer, text, bigint, text,
                                     timestamptz, text, integer);
        DROP FUNCTION prepaid_event(prepaid_accounts, jsonb);
        DROP FUNCTION prepaid_next_state(text, bigint, bigint);
        DROP TABLE prepaid_statements, prepaid_rewards, prepaid_accruals, prepaid_accounts;
        DROP INDEX debits_one_topup_per_episode;
        ALTER TABLE debits DROP COLUMN episode;
        ALTER TABLE mandates DROP COLUMN topup_amount;
        ALTER TABLE billers DROP COLUMN prepaid_reminder, DROP COLUMN prepaid_cut_grace_s,
            DROP COLUMN prepaid_reward_min, DROP COLUMN prepaid_reward_points;
        CREATE OR REPLACE FUNCTION payment_event(p payments) RETURNS jsonb
        LANGUAGE sql IMMUTABLE AS $$
            SELECT jsonb_build_object(
                'payment_id', p.id, 'biller_id', p.biller_id, 'channel_id', p.channel_id,
                'order_id', p.order_id, 'status', p.status, 'amount', p.amount,
                'currency', p.currency, 'account_no', p.account_no,
                'bill_nos', to_jsonb(p.bill_nos), 'payer', p.payer,
                'receipt_no', p.receipt_no, 'biller_serial', p.biller_serial,
                'failure_code', p.failure_code);
        $$;
        ALTER TABLE payments DROP COLUMN purpose;
        ALTER TABLE postings ALTER COLUMN line_no TYPE smallint;
        ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check,
            ADD CONSTRAINT journal_entries_kind_check CHECK (kind IN ('PAYMENT'));
        DROP INDEX ledger_accounts_owner;
        CREATE UNIQUE INDEX ledger_accounts_owner ON ledger_accounts
            (kind, coalesce(biller_id, 0), coalesce(channel_id, 0), currency);
        ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check,
            ADD CONSTRAINT ledger_accounts_kind_check
                CHECK (kind IN ('CHANNEL_RECEIVABLE', 'BILLER_PAYABLE'));
        """
    )
