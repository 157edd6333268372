-- What vouchers moved in and out of each utility's payable, as the ledger's checks read it
-- (``ledger/check.py``; a function, not a view: the views are the areas' published ones):
-- ``owed`` is what the hub came to owe the utility (a credit to the payable is positive). Sold by the utility itself: it holds the cash, the hub owes
-- it less; bills written off by a redemption or by a credit; breakage.
CREATE OR REPLACE FUNCTION voucher_payable_movements()
RETURNS TABLE (biller_id integer, owed bigint) LANGUAGE sql STABLE AS $$
    SELECT v.biller_id, -b.face FROM vouchers v JOIN voucher_batches b ON b.id = v.batch_id
     WHERE v.outlet_id IS NULL
       AND (v.state IN ('ACTIVE', 'REDEEMED') OR v.state = 'EXPIRED' AND v.reason = 'breakage')
    UNION ALL
    SELECT v.biller_id, b.face FROM vouchers v JOIN voucher_batches b ON b.id = v.batch_id
     WHERE v.state = 'EXPIRED' AND v.reason = 'breakage'
    UNION ALL
    SELECT biller_id, face - prepaid - credit FROM voucher_redemptions
    UNION ALL
    SELECT p.biller_id, p.amount FROM payments_orders p
     WHERE p.purpose = 'voucher' AND p.status = 'SUCCEEDED'
       AND NOT EXISTS (SELECT 1 FROM voucher_redemptions r
                        WHERE r.biller_id = p.biller_id AND r.payment_id = p.id)
$$;
