-- Redemptions in batches (``vouchers/redeem.py``, ``db/batches.py``): many redemptions,
-- one round trip and one commit, each item with its own answer as ``voucher_redeem_many``
-- gives it. A batch whose items are for distinct accounts, orders and PINs is written
-- set-wise, all in one call; any other one item at a time (a call each, in order), each
-- item seeing what the earlier ones wrote (a PIN twice in one batch is redeemed once).
-- Items arrive sorted by (biller, account). A redemption locks its voucher's row, then its
-- account's bills and balance; two batches can wait on each other only when they redeem
-- the same PINs for different accounts, which PostgreSQL's deadlock check ends and the
-- batcher answers by retrying each item alone. The payments are counted once at the
-- batch's end (``payments_counted``, ``payments/sql/rollups.sql``).
CREATE OR REPLACE FUNCTION voucher_redeem_batch(
    p_ids text[], p_channel_ids integer[], p_nonces text[], p_order_ids text[],
    p_request_hashes bytea[], p_biller_ids integer[], p_account_nos text[], p_payers text[],
    p_pin_hashes bytea[], p_now timestamptz, p_max_failures integer, p_window interval,
    p_lockout interval
) RETURNS TABLE (item integer, outcome text, detail text, payment payments,
                 redemption voucher_redemptions)
LANGUAGE plpgsql AS $$
DECLARE
    v_size integer := CASE WHEN pay_hosted_distinct(p_channel_ids, p_order_ids, p_biller_ids,
                                                    p_account_nos)
                                AND (SELECT count(DISTINCT (b, h)) = cardinality(p_pin_hashes)
                                       FROM unnest(p_biller_ids, p_pin_hashes) AS u (b, h))
                           THEN greatest(cardinality(p_ids), 1) ELSE 1 END;
    v_from integer;
    v_to integer;
    v_answer record;
    v_created payments[] := '{}';
BEGIN
    PERFORM payments_count_later();
    FOR v_from IN SELECT generate_series(1, cardinality(p_ids), v_size) LOOP
        v_to := v_from + v_size - 1;
        FOR v_answer IN
            SELECT * FROM voucher_redeem_many(p_ids[v_from:v_to], p_channel_ids[v_from:v_to],
                p_nonces[v_from:v_to], p_order_ids[v_from:v_to],
                p_request_hashes[v_from:v_to], p_biller_ids[v_from:v_to],
                p_account_nos[v_from:v_to], p_payers[v_from:v_to], p_pin_hashes[v_from:v_to],
                p_now, p_max_failures, p_window, p_lockout)
        LOOP
            item := v_from - 1 + v_answer.item;
            outcome := v_answer.outcome;
            detail := v_answer.detail;
            payment := v_answer.payment;
            redemption := v_answer.redemption;
            IF outcome = 'CREATED' THEN
                v_created := v_created || payment;
            END IF;
            RETURN NEXT;
        END LOOP;
    END LOOP;
    PERFORM payments_counted(v_created);
END $$;
