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

-- A hosted payment (bills in ``pay_hosted``, a top-up in ``prepaid_top_up``), written as it
-- succeeds, its write-off being in the caller's transaction: its order claimed, then the
-- payment. When a concurrent twin took the order id, nothing is written and the twin's
-- payment is returned instead (its id is not ``p_id``), for the caller to answer the repeat.
CREATE OR REPLACE FUNCTION hosted_payment_write(
    p_id text, p_channel_id integer, p_order_id text, p_request_hash bytea, p_biller_id integer,
    p_account_no text, p_amount bigint, p_bill_nos text[], p_purpose text, p_payer text,
    p_now timestamptz, p_receipt_prefix text
) RETURNS payments LANGUAGE plpgsql AS $$
DECLARE
    v_payment payments;
BEGIN
    INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id)
    VALUES (p_channel_id, p_order_id, p_biller_id, p_id)
    ON CONFLICT (channel_id, order_id) DO NOTHING;
    IF NOT FOUND THEN  -- a concurrent twin took the order id
        SELECT * INTO v_payment FROM order_payment(p_channel_id, p_order_id);
        RETURN v_payment;
    END IF;
    INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                          amount, bill_nos, status, receipt_no, biller_serial, created_at,
                          finished_at, purpose)
    VALUES (p_biller_id, p_id, p_channel_id, p_order_id, p_request_hash, p_payer, p_account_no,
            p_amount, p_bill_nos, 'SUCCEEDED',
            p_receipt_prefix || lpad(nextval('receipt_seq')::text, 10, '0'),
            'H' || lpad(nextval('hosted_serial_seq')::text, 12, '0'), p_now, p_now, p_purpose)
    RETURNING * INTO v_payment;
    RETURN v_payment;
END $$;
