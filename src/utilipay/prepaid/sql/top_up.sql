-- A top-up, in one call, like ``pay_hosted`` for bills: the payment, its ledger entry
-- (the ledger's rule for a top-up, ``ledger_post_top_up``), then the balance credited
-- (``prepaid_credit``). The payment is written as a bill payment's is
-- (``hosted_payment_write``, payments/sql/orders.sql). Outcomes: CREATED, EXISTING,
-- IDEMPOTENCY_CONFLICT (same order id, another request), NOT_PREPAID, and for a terminal's
-- top-up (``p_terminal``, as in ``pay_hosted``) FLOAT_INSUFFICIENT: its amount comes from
-- the outlet's float, whose row is locked first (outlets/sql/floats.sql).
CREATE OR REPLACE FUNCTION prepaid_top_up(
    p_id text, p_channel_id integer, p_order_id text, p_request_hash bytea,
    p_biller_id integer, p_account_no text, p_amount bigint, p_payer text,
    p_now timestamptz, p_receipt_prefix text, p_receivable_account integer,
    p_terminal jsonb DEFAULT NULL
) RETURNS TABLE (outcome text, detail text, payment payments)
LANGUAGE plpgsql AS $$
DECLARE
    v_outlet integer := (p_terminal ->> 'outlet_id')::integer;
    v_payment payments;
    v_account prepaid_accounts;
BEGIN
    IF v_outlet IS NOT NULL THEN
        PERFORM outlet_floats_lock(ARRAY[v_outlet]);
    END IF;
    v_account := prepaid_account_locked(p_biller_id, p_account_no);
    IF v_account.account_no IS NULL THEN
        RETURN QUERY SELECT 'NOT_PREPAID', format('account %s is not prepaid', p_account_no),
                            NULL::payments;
        RETURN;
    END IF;
    IF v_outlet IS NOT NULL
       AND NOT outlet_float_take(v_outlet, p_amount, p_biller_id, p_now) THEN
        RETURN QUERY SELECT 'FLOAT_INSUFFICIENT',
            format('the float of outlet %s cannot cover %s', v_outlet, p_amount),
            NULL::payments;
        RETURN;
    END IF;

    v_payment := hosted_payment_write(p_id, p_channel_id, p_order_id, p_request_hash,
                                      p_biller_id, p_account_no, p_amount, '{}', 'prepaid_topup',
                                      p_payer, p_now, p_receipt_prefix);
    IF v_payment.id IS DISTINCT FROM p_id THEN  -- a concurrent twin took the order id
        IF v_outlet IS NOT NULL THEN  -- the twin's payment took the float, not this one
            PERFORM outlet_float_take(v_outlet, -p_amount, NULL, p_now);
        END IF;
        RETURN QUERY SELECT * FROM pay_hosted_repeat(v_payment, p_request_hash);
        RETURN;
    END IF;
    IF v_outlet IS NOT NULL THEN
        PERFORM outlet_payment_taken(p_terminal, p_biller_id, p_id, p_amount, p_now);
    END IF;

    PERFORM ledger_post_top_up(p_biller_id, p_id, p_now, p_receivable_account,
                               v_account.ledger_account_id, p_amount, p_account_no);

    PERFORM prepaid_credit(v_account, p_amount, v_payment, p_now);
    RETURN QUERY SELECT 'CREATED', NULL::text, v_payment;
END $$;

-- The rows of the accounts that are prepaid among (``p_biller_ids[k]``,
-- ``p_account_nos[k]``), locked in (biller, account) order for a credit (``prepaid_credit``):
-- for a batch of redemptions (``voucher_redeem_many``).
CREATE OR REPLACE FUNCTION prepaid_accounts_locked(p_biller_ids integer[], p_account_nos text[])
RETURNS SETOF prepaid_accounts LANGUAGE sql AS $$
    SELECT p.* FROM unnest(p_biller_ids, p_account_nos) AS a (biller_id, account_no)
      JOIN prepaid_accounts p ON p.biller_id = a.biller_id AND p.account_no = a.account_no
     ORDER BY p.biller_id, p.account_no FOR UPDATE OF p
$$;

-- A prepaid account's row, locked for a credit; all NULL when the account is not prepaid.
-- For ``prepaid_top_up``.
CREATE OR REPLACE FUNCTION prepaid_account_locked(p_biller_id integer, p_account_no text)
RETURNS prepaid_accounts LANGUAGE sql AS $$
    SELECT * FROM prepaid_accounts_locked(ARRAY[p_biller_id], ARRAY[p_account_no])
$$;

-- Money added to a locked prepaid account for a payment (a top-up, a voucher redeemed:
-- ``voucher_redeem_many``), its ledger entry made by the caller: the new balance and state,
-- the payment's event with the balance, a reconnect when it ends a cut, the month's reward.
CREATE OR REPLACE FUNCTION prepaid_credit(
    p_account prepaid_accounts, p_amount bigint, p_payment payments, p_now timestamptz
) RETURNS prepaid_accounts LANGUAGE plpgsql AS $$
DECLARE
    v_account prepaid_accounts;
    v_biller billers_directory;
    v_was text;
    v_state text;
    v_month date := date_trunc('month', p_now AT TIME ZONE 'Asia/Shanghai')::date;
BEGIN
    SELECT * INTO v_biller FROM billers_directory WHERE id = p_account.biller_id;
    v_was := p_account.state;
    v_state := prepaid_next_state(p_account.state, p_account.balance + p_amount,
                                  coalesce(p_account.reminder, v_biller.prepaid_reminder));
    UPDATE prepaid_accounts
       SET balance = balance + p_amount,
           state = v_state,
           state_since = CASE WHEN v_state = state THEN state_since ELSE p_now END,
           notified = CASE WHEN v_state = 'NORMAL' THEN '{}' ELSE notified END
     WHERE biller_id = p_account.biller_id AND account_no = p_account.account_no
    RETURNING * INTO v_account;

    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    VALUES (p_account.biller_id, 'payment.succeeded', p_payment.id,
            payment_event(p_payment) || jsonb_build_object('balance', v_account.balance), p_now);
    IF v_was = 'CUT' AND v_state <> 'CUT' THEN  -- the worker decides the reconnect
        INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
        VALUES (p_account.biller_id, 'prepaid.restored', p_account.account_no,
                prepaid_event(v_account, jsonb_build_object('payment_id', p_payment.id)), p_now);
    END IF;

    IF v_biller.prepaid_reward_points > 0 AND p_amount >= v_biller.prepaid_reward_min THEN
        INSERT INTO prepaid_rewards VALUES (p_account.biller_id, p_account.account_no, v_month,
                                            p_payment.id, v_biller.prepaid_reward_points, p_now)
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
            VALUES (p_account.biller_id, 'prepaid.rewarded', p_account.account_no,
                    prepaid_event(v_account, jsonb_build_object(
                        'payment_id', p_payment.id, 'points', v_biller.prepaid_reward_points,
                        'month', to_char(v_month, 'YYYY-MM'))), p_now);
        END IF;
    END IF;
    RETURN v_account;
END $$;
