-- The credit a voucher left on a postpaid account (``voucher_credits``) pays the account's
-- next bills first: as soon as a bill is issued, its account's credit writes off its unpaid
-- bills oldest first, whole bills while the credit covers them (bills are paid whole in
-- this hub, channel-api.md §4), as one payment of purpose 'voucher' in the name of the
-- channel and payer of the last redemption that added to it (order id 'VOUCHER-CREDIT-'
-- and the payment's id), booked by ``ledger_post_voucher_credit_use``. A credit smaller
-- than the oldest bill waits; the next redemption's face value pays that bill first.
CREATE OR REPLACE FUNCTION vouchers_use_credit(
    p_biller_id integer, p_account_no text, p_now timestamptz
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_credit voucher_credits;
    v_id text := 'P' || upper(replace(gen_random_uuid()::text, '-', ''));
    v_order text;
    v_bill_nos text[];
    v_total bigint;
    v_payment payments;
BEGIN
    -- the account's unpaid bills before its credit, as a redemption takes them (its bills,
    -- then its credit's upsert): the two queue; in the other order they could deadlock
    PERFORM vouchers_bills_locked(ARRAY[p_biller_id], ARRAY[p_account_no]);
    SELECT * INTO v_credit FROM voucher_credits
     WHERE biller_id = p_biller_id AND account_no = p_account_no AND balance > 0 FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(c.bill_no ORDER BY c.bill_no), sum(c.total)
      INTO v_bill_nos, v_total
      FROM vouchers_bills_covered(p_biller_id, p_account_no, v_credit.balance,
                                  (p_now AT TIME ZONE 'Asia/Shanghai')::date) c;
    IF v_total IS NULL THEN
        RETURN NULL;
    END IF;
    v_order := 'VOUCHER-CREDIT-' || v_id;
    v_payment := hosted_payment_write(
        v_id, v_credit.channel_id, v_order, sha256(convert_to(v_order, 'UTF8')), p_biller_id,
        p_account_no, v_total, v_bill_nos, 'voucher', v_credit.payer, p_now,
        'R' || to_char((p_now AT TIME ZONE 'Asia/Shanghai')::date, 'YYYYMMDD'));
    PERFORM billing_write_off(p_biller_id, v_bill_nos, v_id, p_now);
    UPDATE voucher_credits SET balance = balance - v_total
     WHERE biller_id = p_biller_id AND account_no = p_account_no;
    PERFORM ledger_post_voucher_credit_use(p_biller_id, v_id, p_now, v_total);
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    VALUES (p_biller_id, 'payment.succeeded', v_id, payment_event(v_payment), p_now);
    RETURN v_id;
END $$;

-- Bills just issued whose account holds a credit: the credit is used at once, as of their
-- issue.
CREATE OR REPLACE FUNCTION vouchers_credit_new_bills() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM vouchers_use_credit(n.biller_id, n.account_no, max(n.issued_at))
       FROM new_bills n
       JOIN voucher_credits c ON c.biller_id = n.biller_id AND c.account_no = n.account_no
      WHERE c.balance > 0
      GROUP BY n.biller_id, n.account_no
      ORDER BY n.biller_id, n.account_no;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER bills_use_voucher_credit
    AFTER INSERT ON bills REFERENCING NEW TABLE AS new_bills
    FOR EACH STATEMENT EXECUTE FUNCTION vouchers_credit_new_bills();

-- Every unpaid bill of the accounts, locked in pay_hosted's order (biller, account, bill
-- number), so a voucher and a payment of the same account queue instead of deadlocking.
CREATE OR REPLACE FUNCTION vouchers_bills_locked(p_biller_ids integer[], p_account_nos text[])
RETURNS void LANGUAGE sql AS $$
    SELECT FROM (SELECT 1 FROM unnest(p_biller_ids, p_account_nos) AS a (biller_id, account_no)
                   JOIN billing_bills b
                     ON b.biller_id = a.biller_id AND b.account_no = a.account_no
                  WHERE b.status = 'UNPAID'
                  ORDER BY b.biller_id, b.account_no, b.bill_no FOR UPDATE OF b) locked
$$;

-- Each item's (``p_biller_ids[k]``, ``p_account_nos[k]``) unpaid bills that its
-- ``p_amounts[k]`` pays whole, oldest (by due date) first, stopping at the first that no
-- longer fits: for a redemption's face value (a batch of them, ``voucher_redeem_many``) and
-- for a credit. The accounts' unpaid bills are locked first (``vouchers_bills_locked``). A
-- bill's total is its amount and its late fee on p_on (``bill_late_fee_of``). The accounts
-- are distinct.
CREATE OR REPLACE FUNCTION vouchers_bills_covered_many(
    p_biller_ids integer[], p_account_nos text[], p_amounts bigint[], p_on date
) RETURNS TABLE (item integer, bill_no text, due_date date, total bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM vouchers_bills_locked(p_biller_ids, p_account_nos);
    RETURN QUERY
        SELECT c.k::integer, c.bill_no, c.due_date, c.total
          FROM (SELECT d.k, d.bill_no, d.due_date, d.total, d.amount,
                       sum(d.total) OVER (PARTITION BY d.k ORDER BY d.due_date, d.bill_no)
                           AS running
                  FROM (SELECT a.k, a.amount, b.bill_no, b.due_date,
                               b.amount + bill_late_fee_of(b.biller_id, b.bill_no, b.due_date,
                                                           b.late_fee, p_on) AS total
                          FROM unnest(p_biller_ids, p_account_nos, p_amounts)
                               WITH ORDINALITY AS a (biller_id, account_no, amount, k)
                          JOIN billing_bills b ON b.biller_id = a.biller_id
                           AND b.account_no = a.account_no AND b.status = 'UNPAID') d) c
         WHERE c.running <= c.amount;
END $$;

-- One account's: for a credit (``vouchers_use_credit``).
CREATE OR REPLACE FUNCTION vouchers_bills_covered(
    p_biller_id integer, p_account_no text, p_amount bigint, p_on date
) RETURNS TABLE (bill_no text, due_date date, total bigint) LANGUAGE sql AS $$
    SELECT c.bill_no, c.due_date, c.total
      FROM vouchers_bills_covered_many(ARRAY[p_biller_id], ARRAY[p_account_no],
                                       ARRAY[p_amount], p_on) c
$$;
