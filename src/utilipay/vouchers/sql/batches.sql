-- Redemptions in batches (``vouchers/redeem.py``, ``db/batches.py``): many redemptions,
-- one round trip and one commit, each item with its own answer, as ``voucher_redeem``
-- gives it, item after item (each seeing what the earlier ones wrote: a PIN twice in one
-- batch is redeemed once). Items arrive sorted by (biller, account), the order in which
-- redemptions lock their accounts' bills and balances; a voucher's row is locked by the
-- redemption of its PIN, so two batches can wait on each other only when they redeem the
-- same PINs for different accounts, which PostgreSQL's deadlock check ends and the batcher
-- answers by retrying each item alone. The payments are counted once at the batch's end
-- (``payments_counted``, ``payments/sql/rollups.sql``).
CREATE OR REPLACE FUNCTION voucher_redeem_batch(
    p_ids text[], p_channel_ids integer[], p_nonces text[], p_order_ids text[],
    p_request_hashes bytea[], p_biller_ids integer[], p_account_nos text[], p_payers text[],
    p_pin_hashes bytea[], p_now timestamptz, p_max_failures integer, p_window interval,
    p_lockout interval
) RETURNS TABLE (item integer, outcome text, detail text, payment payments,
                 redemption voucher_redemptions)
LANGUAGE plpgsql AS $$
DECLARE
    v_answer record;
    v_created payments[] := '{}';
BEGIN
    PERFORM payments_count_later();
    FOR i IN 1 .. cardinality(p_ids) LOOP
        SELECT * INTO v_answer
          FROM voucher_redeem(p_ids[i], p_channel_ids[i], p_nonces[i], p_order_ids[i],
                              p_request_hashes[i], p_biller_ids[i], p_account_nos[i],
                              p_payers[i], p_pin_hashes[i], p_now, p_max_failures, p_window,
                              p_lockout);
        IF v_answer.outcome = 'CREATED' THEN
            v_created := v_created || v_answer.payment;
        END IF;
        RETURN QUERY SELECT i, v_answer.outcome, v_answer.detail, v_answer.payment,
                            v_answer.redemption;
    END LOOP;
    PERFORM payments_counted(v_created);
END $$;
