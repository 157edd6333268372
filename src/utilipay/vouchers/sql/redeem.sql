-- A voucher redeemed (channel-api.md §12), in one call like ``pay_hosted``: the order's
-- repeat answered first, then the brute-force brake, the PIN, the account's unpaid bills
-- oldest first (whole bills), the rest to the prepaid balance of a prepaid account or else
-- to the account's credit; one payment of the face value (purpose 'voucher', written with
-- its order's claim by ``hosted_payment_write``), the bills written off by
-- ``billing_write_off``, a prepaid balance credited by ``prepaid_credit``, one ledger entry
-- (``ledger_post_voucher_redemption``).
--
-- Outcomes: CREATED, EXISTING, IDEMPOTENCY_CONFLICT, REPLAYED, ACCOUNT_NOT_FOUND,
-- RATE_LIMITED, VOUCHER_INVALID. VOUCHER_INVALID records the failure (the caller commits
-- it: the brake must hold), every other refusal writes nothing but the nonce.
--
-- At most once: the voucher's row is locked before its state is read (a concurrent
-- redemption of the same PIN waits, then finds it REDEEMED), its update is conditional on
-- ACTIVE, and ``voucher_redemptions`` has one row per voucher.
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

-- The answer to an order id already used: its redemption again, or a conflict (also when
-- the order paid bills with the channel's money: a different request).
CREATE OR REPLACE FUNCTION voucher_repeat(p_existing payments, p_request_hash bytea)
RETURNS TABLE (outcome text, detail text, payment payments, redemption voucher_redemptions)
LANGUAGE sql STABLE AS $$
    SELECT r.outcome, r.detail, r.payment, v
      FROM pay_hosted_repeat(p_existing, p_request_hash) r
      LEFT JOIN voucher_redemptions v
        ON v.biller_id = p_existing.biller_id AND v.payment_id = p_existing.id
$$;

-- An invalid PIN counted against the payer and the account; the key that reaches
-- ``p_max`` failures within ``p_window`` is locked out for ``p_lockout``. Each key's count
-- is taken under its own lock, so concurrent failures cannot all miss the limit.
CREATE OR REPLACE FUNCTION voucher_failed(
    p_keys text[], p_now timestamptz, p_max integer, p_window interval, p_lockout interval
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_key text;
BEGIN
    FOREACH v_key IN ARRAY (SELECT array_agg(k ORDER BY k) FROM unnest(p_keys) k) LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(v_key, 0));
        INSERT INTO voucher_failures (key, at) VALUES (v_key, p_now);
        IF (SELECT count(*) FROM voucher_failures
             WHERE key = v_key AND at > p_now - p_window AND at <= p_now) >= p_max THEN
            INSERT INTO voucher_lockouts AS l (key, until) VALUES (v_key, p_now + p_lockout)
            ON CONFLICT (key) DO UPDATE SET until = excluded.until;
        END IF;
    END LOOP;
END $$;
