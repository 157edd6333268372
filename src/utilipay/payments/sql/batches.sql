-- Hosted payments in batches: many payments, one round trip and one commit
-- (``payments/hosted.py``), each item with its own outcome. Items arrive sorted by (biller,
-- account), and every payment locks only the bills of its own account, so concurrent batches
-- take locks in one global order and cannot deadlock each other. Bill numbers are
-- [A-Za-z0-9_.-], so a comma joins an item's list safely; NULL means "every outstanding
-- bill" (channel-api.md §4). ``p_terminals`` is NULL for a batch of channel payments;
-- otherwise each item's terminal payment as JSON (NULL for a channel's), and the floats they
-- take are locked first, in outlet order, before any bill: a float is one row many
-- accounts' payments share, so locking it in the middle of the (biller, account) order
-- would let two batches wait on each other.
--
-- A batch whose items are for distinct accounts and orders is written set-wise
-- (``pay_hosted_many``); any other batch item by item through ``pay_hosted``, each item
-- seeing what the earlier ones wrote (two payments of one account: the second finds the
-- bills paid).
CREATE OR REPLACE FUNCTION pay_hosted_batch(
    p_ids text[], p_channel_ids integer[], p_nonces text[], p_order_ids text[],
    p_request_hashes bytea[], p_biller_ids integer[], p_account_nos text[], p_amounts bigint[],
    p_bill_nos text[], p_payers text[], p_receivable_accounts integer[],
    p_payable_accounts integer[], p_now timestamptz, p_receipt_prefix text,
    p_terminals text[] DEFAULT NULL
) RETURNS TABLE (item integer, outcome text, detail text, payment payments)
LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    v_answer record;
    v_created payments[] := '{}';
BEGIN
    -- The payments are counted (payment_rollups, payment_minutes) once for the batch, at
    -- its end, as they were written: their insert triggers skip them meanwhile
    -- (rollups.sql). Two rows per key and batch instead of two per payment.
    PERFORM set_config('utilipay.payments_counted_by', 'batch', true);
    IF p_terminals IS NOT NULL THEN
        PERFORM outlet_floats_lock(ARRAY(SELECT (t::jsonb ->> 'outlet_id')::integer
                                           FROM unnest(p_terminals) t));
    END IF;
    IF pay_hosted_distinct(p_channel_ids, p_order_ids, p_biller_ids, p_account_nos) THEN
        FOR v_answer IN
            SELECT * FROM pay_hosted_many(p_ids, p_channel_ids, p_nonces, p_order_ids,
                p_request_hashes, p_biller_ids, p_account_nos, p_amounts, p_bill_nos, p_payers,
                p_receivable_accounts, p_payable_accounts, p_now, p_receipt_prefix,
                p_terminals)
        LOOP
            item := v_answer.item;
            outcome := v_answer.outcome;
            detail := v_answer.detail;
            payment := v_answer.payment;
            IF outcome = 'CREATED' THEN
                v_created := v_created || payment;
            END IF;
            RETURN NEXT;
        END LOOP;
    ELSE
        FOR i IN 1 .. cardinality(p_ids) LOOP
            SELECT * INTO v_answer
              FROM pay_hosted(p_ids[i], p_channel_ids[i], p_nonces[i], p_order_ids[i],
                              p_request_hashes[i], p_biller_ids[i], p_account_nos[i],
                              p_amounts[i], string_to_array(p_bill_nos[i], ','), p_payers[i],
                              p_now, p_receipt_prefix, p_receivable_accounts[i],
                              p_payable_accounts[i], p_terminals[i]::jsonb);
            item := i;
            outcome := v_answer.outcome;
            detail := v_answer.detail;
            payment := v_answer.payment;
            IF outcome = 'CREATED' THEN
                v_created := v_created || payment;
            END IF;
            RETURN NEXT;
        END LOOP;
    END IF;
    PERFORM payment_rollups_add(v_created), payment_minutes_add(v_created);
    PERFORM set_config('utilipay.payments_counted_by', '', true);
END $$;

-- Whether no two items of a batch share an account or an order.
CREATE OR REPLACE FUNCTION pay_hosted_distinct(
    p_channel_ids integer[], p_order_ids text[], p_biller_ids integer[], p_account_nos text[]
) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT count(DISTINCT (a.biller_id, a.account_no)) = cardinality(p_biller_ids)
           AND count(DISTINCT (a.channel_id, a.order_id)) = cardinality(p_channel_ids)
      FROM unnest(p_channel_ids, p_order_ids, p_biller_ids, p_account_nos)
           AS a (channel_id, order_id, biller_id, account_no)
$$;

-- A batch whose items are each for their own account and order: each item prepared as
-- ``pay_hosted`` prepares it (``pay_hosted_prepare``: its nonce, its order, its bills locked
-- in the batch's (biller, account) order, a terminal's float taken), then the accepted ones
-- written together, a statement per table
-- for the whole batch instead of one per payment: the orders claimed and the payments
-- (``hosted_payments_write``), the bills written off (``billing_write_off_many``), the
-- journal entries (``ledger_post_payments``), the events. An item whose order a concurrent
-- twin claimed after the check is answered as a repeat, its float given back.
CREATE OR REPLACE FUNCTION pay_hosted_many(
    p_ids text[], p_channel_ids integer[], p_nonces text[], p_order_ids text[],
    p_request_hashes bytea[], p_biller_ids integer[], p_account_nos text[], p_amounts bigint[],
    p_bill_nos text[], p_payers text[], p_receivable_accounts integer[],
    p_payable_accounts integer[], p_now timestamptz, p_receipt_prefix text,
    p_terminals text[]
) RETURNS TABLE (item integer, outcome text, detail text, payment payments)
LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    v_prepared record;
    v_accepted integer[] := '{}';
    v_bill_lists text[] := '{}';  -- by item: the bills an accepted item pays, comma-joined
    v_created payments[];
    v_payment payments;
BEGIN
    FOR i IN 1 .. cardinality(p_ids) LOOP
        SELECT * INTO v_prepared
          FROM pay_hosted_prepare(p_channel_ids[i], p_nonces[i], p_order_ids[i],
                                p_request_hashes[i], p_biller_ids[i], p_account_nos[i],
                                p_amounts[i], string_to_array(p_bill_nos[i], ','), p_now,
                                p_terminals[i]::jsonb);
        IF v_prepared.outcome IS NOT NULL THEN
            RETURN QUERY SELECT i, v_prepared.outcome, v_prepared.detail, v_prepared.payment;
        ELSE
            v_accepted := v_accepted || i;
            v_bill_lists[i] := array_to_string(v_prepared.bill_nos, ',');
        END IF;
    END LOOP;

    SELECT array_agg(w) INTO v_created
      FROM hosted_payments_write(
               ARRAY(SELECT p_ids[k] FROM unnest(v_accepted) k),
               ARRAY(SELECT p_channel_ids[k] FROM unnest(v_accepted) k),
               ARRAY(SELECT p_order_ids[k] FROM unnest(v_accepted) k),
               ARRAY(SELECT p_request_hashes[k] FROM unnest(v_accepted) k),
               ARRAY(SELECT p_biller_ids[k] FROM unnest(v_accepted) k),
               ARRAY(SELECT p_account_nos[k] FROM unnest(v_accepted) k),
               ARRAY(SELECT p_amounts[k] FROM unnest(v_accepted) k),
               ARRAY(SELECT v_bill_lists[k] FROM unnest(v_accepted) k), 'bills',
               ARRAY(SELECT p_payers[k] FROM unnest(v_accepted) k),
               p_now, p_receipt_prefix) w;
    v_created := coalesce(v_created, '{}');

    FOR i IN SELECT k FROM unnest(v_accepted) k
              WHERE p_ids[k] <> ALL (ARRAY(SELECT c.id FROM unnest(v_created) c)) LOOP
        -- a concurrent twin claimed the order after the check: its payment is the answer,
        -- and it took the float, not this one
        IF p_terminals[i] IS NOT NULL THEN
            PERFORM outlet_float_take((p_terminals[i]::jsonb ->> 'outlet_id')::integer,
                                      -p_amounts[i], NULL, p_now);
        END IF;
        SELECT * INTO v_payment FROM order_payment(p_channel_ids[i], p_order_ids[i]);
        RETURN QUERY SELECT i, r.* FROM pay_hosted_repeat(v_payment, p_request_hashes[i]) r;
    END LOOP;

    PERFORM billing_write_off_many(array_agg(c.biller_id), array_agg(b.bill_no),
                                   array_agg(c.id), p_now)
       FROM unnest(v_created) c, unnest(c.bill_nos) b (bill_no);
    PERFORM ledger_post_payments(
        ARRAY(SELECT c.biller_id FROM unnest(v_created) c), ARRAY(SELECT c.id FROM unnest(v_created) c),
        p_now, ARRAY(SELECT p_receivable_accounts[array_position(p_ids, c.id)] FROM unnest(v_created) c),
        ARRAY(SELECT p_payable_accounts[array_position(p_ids, c.id)] FROM unnest(v_created) c),
        ARRAY(SELECT c.amount FROM unnest(v_created) c));
    PERFORM outlet_payment_taken(p_terminals[k]::jsonb, c.biller_id, c.id, c.amount, p_now)
       FROM unnest(v_created) c, array_position(p_ids, c.id) k
      WHERE p_terminals[k] IS NOT NULL;
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT c.biller_id, 'payment.succeeded', c.id, payment_event(c), p_now
      FROM unnest(v_created) c;

    RETURN QUERY SELECT array_position(p_ids, c.id), 'CREATED', NULL::text, c
                   FROM unnest(v_created) c;
END $$;
