-- Hosted bills written off to the payments that paid them, in their transaction
-- (``pay_hosted`` locked them first, through ``billing_bills``): bill i to payment i, one
-- statement for a whole batch (``pay_hosted_many``). The one place a bill becomes PAID.
CREATE OR REPLACE FUNCTION billing_write_off_many(
    p_biller_ids integer[], p_bill_nos text[], p_payment_ids text[], p_at timestamptz
) RETURNS void LANGUAGE sql AS $$
    UPDATE bills b SET status = 'PAID', payment_id = w.payment_id, paid_at = p_at
      FROM unnest(p_biller_ids, p_bill_nos, p_payment_ids) AS w (biller_id, bill_no, payment_id)
     WHERE b.biller_id = w.biller_id AND b.bill_no = w.bill_no
$$;

-- One payment's bills.
CREATE OR REPLACE FUNCTION billing_write_off(
    p_biller_id integer, p_bill_nos text[], p_payment_id text, p_at timestamptz
) RETURNS void LANGUAGE sql AS $$
    SELECT billing_write_off_many(array_fill(p_biller_id, ARRAY[cardinality(p_bill_nos)]),
                                  p_bill_nos,
                                  array_fill(p_payment_id, ARRAY[cardinality(p_bill_nos)]), p_at)
$$;

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
