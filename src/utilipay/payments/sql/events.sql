-- The outbox payload of a payment status change: what consumers need without a lookup.
CREATE OR REPLACE FUNCTION payment_event(p payments) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'payment_id', p.id, 'biller_id', p.biller_id, 'channel_id', p.channel_id,
        'order_id', p.order_id, 'status', p.status, 'amount', p.amount, 'currency', p.currency,
        'account_no', p.account_no, 'bill_nos', to_jsonb(p.bill_nos), 'payer', p.payer,
        'receipt_no', p.receipt_no, 'biller_serial', p.biller_serial,
        'failure_code', p.failure_code, 'purpose', p.purpose);
$$;
