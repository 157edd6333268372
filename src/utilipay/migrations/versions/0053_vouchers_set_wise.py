"""A batch of voucher redemptions written set-wise (issue 15): ``voucher_redeem_batch``
calls ``voucher_redeem_many`` (``vouchers/sql/redeem.sql``) for the whole batch when its
items are for distinct accounts, orders and PINs, and an item at a time otherwise, as
``pay_hosted_batch`` does; the journal entries of a batch are made by
``ledger_post_voucher_redemptions`` in two statements. The one-redemption functions they
replace, ``voucher_redeem`` and ``ledger_post_voucher_redemption``, go (if there: the files
that defined them run after the migrations, so a database built fresh never had them).

Downgrade gives the two back as revision 0052's files had them. The functions this
revision's files added stay until the files of 0052 are applied at the next upgrade
(every file whose checksum differs is) or a downgrade below 0030 (0036 for
``prepaid_accounts_locked``) drops them with the vouchers.

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0053"
down_revision = "0052"
branch_labels = None
depends_on = None

UP = """
DROP FUNCTION IF EXISTS voucher_redeem(text, integer, text, text, bytea, integer, text, text,
    bytea, timestamptz, integer, interval, interval);
DROP FUNCTION IF EXISTS ledger_post_voucher_redemption(integer, text, timestamptz, bigint,
    integer, bigint, bigint);
"""

# revision 0052's bodies (ledger/sql/post.sql and vouchers/sql/redeem.sql as they were then)
DOWN = """
CREATE OR REPLACE FUNCTION ledger_post_voucher_redemption(
    p_biller_id integer, p_payment_id text, p_at timestamptz, p_bills bigint,
    p_prepaid_account integer, p_prepaid bigint, p_credit bigint
) RETURNS bigint LANGUAGE sql AS $$
    SELECT ledger_post(p_biller_id, 'VOUCHER_REDEMPTION', p_at,
                       array_agg(l.account ORDER BY l.n), array_agg(l.amount ORDER BY l.n),
                       p_payment_id)
      FROM (VALUES (1, ledger_account('VOUCHER_LIABILITY', p_biller_id),
                    p_bills + p_prepaid + p_credit),
                   (2, ledger_account('BILLER_PAYABLE', p_biller_id), -p_bills),
                   (3, p_prepaid_account, -p_prepaid),
                   (4, ledger_account('VOUCHER_CREDIT', p_biller_id), -p_credit))
           AS l (n, account, amount)
     WHERE l.amount <> 0
$$;

CREATE OR REPLACE FUNCTION voucher_redeem(
    p_id text, p_channel_id integer, p_nonce text, p_order_id text, p_request_hash bytea,
    p_biller_id integer, p_account_no text, p_payer text, p_pin_hash bytea,
    p_now timestamptz, p_max_failures integer, p_window interval, p_lockout interval
) RETURNS TABLE (outcome text, detail text, payment payments, redemption voucher_redemptions)
LANGUAGE plpgsql AS $$
DECLARE
    v_keys text[] := ARRAY['payer:' || p_channel_id || ':' || p_payer,
                           'account:' || p_biller_id || ':' || p_account_no];
    v_today date := (p_now AT TIME ZONE 'Asia/Shanghai')::date;
    v_payment payments;
    v_voucher vouchers;
    v_face bigint;
    v_bills jsonb;
    v_bill_nos text[];
    v_bills_total bigint;
    v_prepaid prepaid_accounts;
    v_rest bigint;
    v_redemption voucher_redemptions;
BEGIN
    IF p_nonce IS NOT NULL THEN
        IF NOT channel_nonce_use(p_channel_id, p_nonce, p_now) THEN
            RETURN QUERY SELECT 'REPLAYED', 'nonce already used', NULL::payments,
                                NULL::voucher_redemptions;
            RETURN;
        END IF;
    END IF;

    SELECT * INTO v_payment FROM order_payment(p_channel_id, p_order_id);
    IF FOUND THEN
        RETURN QUERY SELECT * FROM voucher_repeat(v_payment, p_request_hash);
        RETURN;
    END IF;

    IF EXISTS (SELECT 1 FROM voucher_lockouts WHERE key = ANY (v_keys) AND until > p_now) THEN
        RETURN QUERY SELECT 'RATE_LIMITED', 'too many invalid PINs, try again later',
                            NULL::payments, NULL::voucher_redemptions;
        RETURN;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM billing_accounts
                    WHERE biller_id = p_biller_id AND account_no = p_account_no) THEN
        RETURN QUERY SELECT 'ACCOUNT_NOT_FOUND', format('biller has no account %s', p_account_no),
                            NULL::payments, NULL::voucher_redemptions;
        RETURN;
    END IF;

    SELECT v.* INTO v_voucher FROM vouchers v
     WHERE v.biller_id = p_biller_id AND v.pin_hash = p_pin_hash FOR UPDATE;
    SELECT b.face INTO v_face FROM voucher_batches b
     WHERE b.biller_id = p_biller_id AND b.id = v_voucher.batch_id
       AND b.expires_on >= v_today;
    IF v_voucher.state IS DISTINCT FROM 'ACTIVE' OR v_face IS NULL THEN
        SELECT * INTO v_payment FROM order_payment(p_channel_id, p_order_id);
        IF FOUND THEN  -- a concurrent twin of this request redeemed it first
            RETURN QUERY SELECT * FROM voucher_repeat(v_payment, p_request_hash);
            RETURN;
        END IF;
        PERFORM voucher_failed(v_keys, p_now, p_max_failures, p_window, p_lockout);
        RETURN QUERY SELECT 'VOUCHER_INVALID', 'the PIN is not a voucher that can be redeemed',
                            NULL::payments, NULL::voucher_redemptions;
        RETURN;
    END IF;

    -- The bills the face value pays whole, oldest first (vouchers_bills_covered, credit.sql).
    SELECT coalesce(jsonb_agg(jsonb_build_object('bill_no', c.bill_no, 'amount', c.total)
                              ORDER BY c.due_date, c.bill_no), '[]'),
           coalesce(array_agg(c.bill_no ORDER BY c.bill_no), '{}'), coalesce(sum(c.total), 0)
      INTO v_bills, v_bill_nos, v_bills_total
      FROM vouchers_bills_covered(p_biller_id, p_account_no, v_face, v_today) c;
    v_rest := v_face - v_bills_total;
    v_prepaid := prepaid_account_locked(p_biller_id, p_account_no);

    v_payment := hosted_payment_write(p_id, p_channel_id, p_order_id, p_request_hash,
                                      p_biller_id, p_account_no, v_face, v_bill_nos, 'voucher',
                                      p_payer, p_now, 'R' || to_char(v_today, 'YYYYMMDD'));
    IF v_payment.id IS DISTINCT FROM p_id THEN  -- a concurrent twin took the order id
        RETURN QUERY SELECT * FROM voucher_repeat(v_payment, p_request_hash);
        RETURN;
    END IF;
    IF cardinality(v_bill_nos) > 0 THEN
        PERFORM billing_write_off(p_biller_id, v_bill_nos, p_id, p_now);
    END IF;

    UPDATE vouchers SET state = 'REDEEMED', state_at = p_now
     WHERE biller_id = p_biller_id AND batch_id = v_voucher.batch_id AND seq = v_voucher.seq
       AND state = 'ACTIVE';
    INSERT INTO voucher_redemptions (batch_id, seq, biller_id, payment_id, account_no, face,
                                     bills, prepaid, credit, redeemed_at)
    VALUES (v_voucher.batch_id, v_voucher.seq, p_biller_id, p_id, p_account_no, v_face,
            v_bills, CASE WHEN v_prepaid.account_no IS NULL THEN 0 ELSE v_rest END,
            CASE WHEN v_prepaid.account_no IS NULL THEN v_rest ELSE 0 END, p_now)
    RETURNING * INTO v_redemption;

    PERFORM ledger_post_voucher_redemption(p_biller_id, p_id, p_now, v_bills_total,
                                           v_prepaid.ledger_account_id, v_redemption.prepaid,
                                           v_redemption.credit);
    IF v_redemption.prepaid > 0 THEN  -- it tells the outbox of the payment, with the balance
        PERFORM prepaid_credit(v_prepaid, v_redemption.prepaid, v_payment, p_now);
    ELSE
        INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
        VALUES (p_biller_id, 'payment.succeeded', p_id, payment_event(v_payment), p_now);
    END IF;
    IF v_redemption.credit > 0 THEN
        INSERT INTO voucher_credits AS c (biller_id, account_no, balance, channel_id, payer)
        VALUES (p_biller_id, p_account_no, v_redemption.credit, p_channel_id, p_payer)
        ON CONFLICT (biller_id, account_no) DO UPDATE
           SET balance = c.balance + excluded.balance, channel_id = excluded.channel_id,
               payer = excluded.payer;
    END IF;
    RETURN QUERY SELECT 'CREATED', NULL::text, v_payment, v_redemption;
END $$;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
