-- Hosted bills written off to the payment that paid them, in its transaction (``pay_hosted``
-- locked them first, through ``billing_bills``). The one place a bill becomes PAID.
CREATE OR REPLACE FUNCTION billing_write_off(
    p_biller_id integer, p_bill_nos text[], p_payment_id text, p_at timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE bills SET status = 'PAID', payment_id = p_payment_id, paid_at = p_at
     WHERE biller_id = p_biller_id AND bill_no = ANY (p_bill_nos);
END $$;

-- A hosted payment voided at the terminal the same day (``payments/voids.py``): the bills it
-- paid are due again, in the void's transaction. The one place a bill becomes UNPAID again.
CREATE OR REPLACE FUNCTION billing_undo_write_off(
    p_biller_id integer, p_payment_id text
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_undone integer;
BEGIN
    UPDATE bills SET status = 'UNPAID', payment_id = NULL, paid_at = NULL
     WHERE biller_id = p_biller_id AND payment_id = p_payment_id AND status = 'PAID';
    GET DIAGNOSTICS v_undone = ROW_COUNT;
    RETURN v_undone;
END $$;
