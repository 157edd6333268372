-- A channel's order id is its idempotency key across every biller (channel-api.md §4), a
-- rule no key led by biller_id can hold: every statement that creates a payment claims its
-- order in ``payment_orders`` first, in the same transaction (a lost claim is a repeat of
-- the order), and the payment of an order is found through that claim.

-- The payment of a channel's order, wherever its biller is.
CREATE OR REPLACE FUNCTION order_payment(p_channel_id integer, p_order_id text)
RETURNS SETOF payments LANGUAGE sql STABLE AS $$
    SELECT p.* FROM payment_orders o
      JOIN payments p ON p.biller_id = o.biller_id AND p.id = o.payment_id
     WHERE o.channel_id = p_channel_id AND o.order_id = p_order_id
$$;

-- Hosted payments (bills in ``pay_hosted``, a top-up in ``prepaid_top_up``), written as
-- they succeed, their write-offs being in the caller's transaction: each order claimed (in
-- key order, so two batches claiming the same orders queue instead of deadlocking), then the
-- payments of the orders claimed, which are returned. An order a concurrent twin took writes
-- nothing: the caller finds the twin's payment through ``order_payment``. ``p_bill_lists``
-- joins each payment's bill numbers with commas (``pay_hosted_batch``).
CREATE OR REPLACE FUNCTION hosted_payments_write(
    p_ids text[], p_channel_ids integer[], p_order_ids text[], p_request_hashes bytea[],
    p_biller_ids integer[], p_account_nos text[], p_amounts bigint[], p_bill_lists text[],
    p_purpose text, p_payers text[], p_now timestamptz, p_receipt_prefix text
) RETURNS SETOF payments LANGUAGE sql AS $$
    WITH item AS (
        SELECT * FROM unnest(p_ids, p_channel_ids, p_order_ids, p_request_hashes, p_biller_ids,
                             p_account_nos, p_amounts, p_bill_lists, p_payers)
            AS i (id, channel_id, order_id, request_hash, biller_id, account_no, amount,
                  bill_list, payer)),
    claimed AS (
        INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id)
        SELECT channel_id, order_id, biller_id, id FROM item ORDER BY channel_id, order_id
        ON CONFLICT (channel_id, order_id) DO NOTHING
        RETURNING biller_id, payment_id)
    INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                          amount, bill_nos, status, receipt_no, biller_serial, created_at,
                          finished_at, purpose)
    SELECT i.biller_id, i.id, i.channel_id, i.order_id, i.request_hash, i.payer, i.account_no,
           i.amount, string_to_array(i.bill_list, ','), 'SUCCEEDED',
           p_receipt_prefix || lpad(nextval('receipt_seq')::text, 10, '0'),
           'H' || lpad(nextval('hosted_serial_seq')::text, 12, '0'), p_now, p_now, p_purpose
      FROM item i JOIN claimed c ON c.biller_id = i.biller_id AND c.payment_id = i.id
    RETURNING *
$$;

-- One hosted payment written; when a concurrent twin took the order id, nothing is written
-- and the twin's payment is returned instead (its id is not ``p_id``), for the caller to
-- answer the repeat.
CREATE OR REPLACE FUNCTION hosted_payment_write(
    p_id text, p_channel_id integer, p_order_id text, p_request_hash bytea, p_biller_id integer,
    p_account_no text, p_amount bigint, p_bill_nos text[], p_purpose text, p_payer text,
    p_now timestamptz, p_receipt_prefix text
) RETURNS payments LANGUAGE plpgsql AS $$
DECLARE
    v_payment payments;
BEGIN
    SELECT * INTO v_payment
      FROM hosted_payments_write(ARRAY[p_id], ARRAY[p_channel_id], ARRAY[p_order_id],
                                 ARRAY[p_request_hash], ARRAY[p_biller_id], ARRAY[p_account_no],
                                 ARRAY[p_amount], ARRAY[array_to_string(p_bill_nos, ',')],
                                 p_purpose, ARRAY[p_payer], p_now, p_receipt_prefix);
    IF NOT FOUND THEN  -- a concurrent twin took the order id
        SELECT * INTO v_payment FROM order_payment(p_channel_id, p_order_id);
    END IF;
    RETURN v_payment;
END $$;
