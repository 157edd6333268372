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
-- A batch whose items are for distinct accounts and orders is written set-wise, all in one
-- call of ``pay_hosted_many``; any other one item at a time (a call each, in order), each
-- item seeing what the earlier ones wrote (two payments of one account: the second finds
-- the bills paid).
CREATE OR REPLACE FUNCTION pay_hosted_batch(
    p_ids text[], p_channel_ids integer[], p_nonces text[], p_order_ids text[],
    p_request_hashes bytea[], p_biller_ids integer[], p_account_nos text[], p_amounts bigint[],
    p_bill_nos text[], p_payers text[], p_receivable_accounts integer[],
    p_payable_accounts integer[], p_now timestamptz, p_receipt_prefix text,
    p_terminals text[] DEFAULT NULL
) RETURNS TABLE (item integer, outcome text, detail text, payment payments)
LANGUAGE plpgsql AS $$
DECLARE
    v_size integer := CASE WHEN pay_hosted_distinct(p_channel_ids, p_order_ids, p_biller_ids,
                                                    p_account_nos)
                           THEN greatest(cardinality(p_ids), 1) ELSE 1 END;
    v_from integer;
    v_to integer;
    v_answer record;
    v_created payments[] := '{}';
BEGIN
    -- The payments are counted (payment_rollups, payment_minutes) once for the batch, at
    -- its end, as they were written (rollups.sql).
    PERFORM payments_count_later();
    IF p_terminals IS NOT NULL THEN
        PERFORM outlet_floats_lock(ARRAY(SELECT (t::jsonb ->> 'outlet_id')::integer
                                           FROM unnest(p_terminals) t));
    END IF;
    FOR v_from IN SELECT generate_series(1, cardinality(p_ids), v_size) LOOP
        v_to := v_from + v_size - 1;
        FOR v_answer IN
            SELECT * FROM pay_hosted_many(p_ids[v_from:v_to], p_channel_ids[v_from:v_to],
                p_nonces[v_from:v_to], p_order_ids[v_from:v_to],
                p_request_hashes[v_from:v_to], p_biller_ids[v_from:v_to],
                p_account_nos[v_from:v_to], p_amounts[v_from:v_to], p_bill_nos[v_from:v_to],
                p_payers[v_from:v_to], p_receivable_accounts[v_from:v_to],
                p_payable_accounts[v_from:v_to], p_now, p_receipt_prefix,
                p_terminals[v_from:v_to])
        LOOP
            item := v_from - 1 + v_answer.item;
            outcome := v_answer.outcome;
            detail := v_answer.detail;
            payment := v_answer.payment;
            IF outcome = 'CREATED' THEN
                v_created := v_created || payment;
            END IF;
            RETURN NEXT;
        END LOOP;
    END LOOP;
    PERFORM payments_counted(v_created);
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

-- A batch whose items are each for their own account and order, written together. First
-- every item is prepared as ``pay_hosted_prepare`` prepares one, a statement for the whole
-- batch where it can: the nonces used (``channel_nonces_use``), the orders looked up, and
-- the bills of every new order locked in the batch's (biller, account) order and totalled
-- (``pay_hosted_bills_locked``); an item whose bills are all there, due, its account's and
-- of its amount is accepted (a terminal's once its float is taken), and any other is
-- prepared alone for its exact answer (a repeat, a refusal). Then the accepted ones are
-- written a statement per table for the whole batch instead of one per payment: the orders
-- claimed and the payments (``hosted_payments_write``), the bills written off
-- (``billing_write_off_many``), the journal entries (``ledger_post_payments``), the events.
-- An item whose order a concurrent twin claimed meanwhile is answered as a repeat, its float
-- given back.
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
    v_fresh bigint[];  -- the items whose nonce was used for the first time
    v_prepared record;
    v_refused text;
    v_accepted integer[] := '{}';
    v_bill_lists text[] := '{}';  -- by item: the bills an accepted item pays, comma-joined
    v_created payments[];
    v_payment payments;
BEGIN
    v_fresh := ARRAY(SELECT channel_nonces_use(p_channel_ids, p_nonces, p_now));
    SELECT array_agg(l.bill_list ORDER BY k) INTO v_bill_lists  -- NULL: not accepted yet
      FROM generate_subscripts(p_ids, 1) k
      LEFT JOIN pay_hosted_bills_locked(
                    ARRAY(SELECT k FROM generate_subscripts(p_ids, 1) k
                           WHERE (p_nonces[k] IS NULL OR k = ANY (v_fresh))
                             AND NOT EXISTS (SELECT FROM order_payment(p_channel_ids[k],
                                                                       p_order_ids[k]))),
                    p_biller_ids, p_account_nos, p_amounts, p_bill_nos, p_now) l ON l.item = k;
    FOR i IN 1 .. cardinality(p_ids) LOOP
        IF p_nonces[i] IS NOT NULL AND NOT i = ANY (v_fresh) THEN
            RETURN QUERY SELECT i, 'REPLAYED', 'nonce already used', NULL::payments;
        ELSIF v_bill_lists[i] IS NOT NULL THEN
            v_refused := pay_hosted_float_take(p_terminals[i]::jsonb, p_amounts[i],
                                               p_biller_ids[i], p_now);
            IF v_refused IS NULL THEN
                v_accepted := v_accepted || i;
            ELSE
                RETURN QUERY SELECT i, 'FLOAT_INSUFFICIENT', v_refused, NULL::payments;
            END IF;
        ELSE
            SELECT * INTO v_prepared  -- its nonce used above
              FROM pay_hosted_prepare(p_channel_ids[i], NULL, p_order_ids[i],
                                      p_request_hashes[i], p_biller_ids[i], p_account_nos[i],
                                      p_amounts[i], string_to_array(p_bill_nos[i], ','), p_now,
                                      p_terminals[i]::jsonb);
            IF v_prepared.outcome IS NULL THEN
                v_accepted := v_accepted || i;
                v_bill_lists[i] := array_to_string(v_prepared.bill_nos, ',');
            ELSE
                RETURN QUERY SELECT i, v_prepared.outcome, v_prepared.detail, v_prepared.payment;
            END IF;
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

-- The bills of a batch's items (``p_items``: their indexes in the batch's arrays) locked in
-- one statement, in the batch's (biller, account, bill) order as ``pay_hosted_prepare`` locks
-- one item's, and the items whose payment they make: every bill named found once, UNPAID,
-- of the item's account, and their total with the late fee on the payment's business day
-- equal to its amount. Each such item with its bills, comma-joined. An item without a list
-- pays its account's UNPAID bills as they were read just before the lock: a bill paid
-- meanwhile is seen PAID once locked, and its item is then prepared alone.
CREATE OR REPLACE FUNCTION pay_hosted_bills_locked(
    p_items integer[], p_biller_ids integer[], p_account_nos text[], p_amounts bigint[],
    p_bill_nos text[], p_now timestamptz
) RETURNS TABLE (item integer, bill_list text) LANGUAGE sql AS $$
    -- two searches, each by its own index (one statement with OR between them searches the
    -- account index without the biller), then the lock by the primary key
    WITH named AS (
        SELECT k, b.bill_no
          FROM unnest(p_items) k
          JOIN billing_bills b
            ON p_bill_nos[k] IS NULL AND b.biller_id = p_biller_ids[k]
           AND b.account_no = p_account_nos[k] AND b.status = 'UNPAID'
        UNION ALL
        SELECT k, n.bill_no
          FROM unnest(p_items) k, unnest(string_to_array(p_bill_nos[k], ',')) AS n (bill_no)),
    locked AS (
        SELECT n.k, b.bill_no, b.account_no, b.status,
               b.amount + bill_late_fee_of(b.biller_id, b.bill_no, b.due_date, b.late_fee,
                                           (p_now AT TIME ZONE 'Asia/Shanghai')::date) AS due
          FROM named n
          JOIN billing_bills b ON b.biller_id = p_biller_ids[n.k] AND b.bill_no = n.bill_no
         ORDER BY p_biller_ids[n.k], p_account_nos[n.k], b.bill_no
           FOR UPDATE OF b)
    SELECT k, string_agg(bill_no, ',' ORDER BY bill_no)
      FROM locked
     GROUP BY k
    HAVING bool_and(account_no = p_account_nos[k] AND status = 'UNPAID')
       AND count(DISTINCT bill_no) = count(*)
       AND sum(due) = p_amounts[k]
       AND (p_bill_nos[k] IS NULL
            OR count(*) = cardinality(string_to_array(p_bill_nos[k], ',')))
$$;

-- A terminal's amount taken from its outlet's float (locked first by ``pay_hosted_batch``):
-- NULL when taken (or no terminal), else why not.
CREATE OR REPLACE FUNCTION pay_hosted_float_take(
    p_terminal jsonb, p_amount bigint, p_biller_id integer, p_now timestamptz
) RETURNS text LANGUAGE sql AS $$
    SELECT format('the float of outlet %s cannot cover %s', p_terminal ->> 'outlet_id', p_amount)
     WHERE p_terminal IS NOT NULL
       AND NOT outlet_float_take((p_terminal ->> 'outlet_id')::integer, p_amount, p_biller_id,
                                 p_now)
$$;
