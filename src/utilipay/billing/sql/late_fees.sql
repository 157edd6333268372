-- Late fees (违约金) of hosted bills: the rule of ``billing/latefees.py``, in SQL, so that
-- every amount due is computed in the database the same way (the payment check in
-- ``pay_hosted``, vouchers, auto-pay, reminders) and by the same function as the bill
-- query and the receipt. The tests hold it to the Python rule's answers.

-- Days overdue on p_on of a bill due p_due less the grace (never below 0): calendar days,
-- or mainland working days (``calendar_working_days``, calendar/sql/working.sql).
CREATE OR REPLACE FUNCTION late_fee_days(p_basis text, p_grace integer, p_due date, p_on date)
RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT greatest(0, CASE WHEN p_on <= p_due THEN 0
                            WHEN p_basis = 'calendar' THEN p_on - p_due
                            ELSE calendar_working_days(p_due, p_on) END
                       - p_grace)
$$;

-- The rule that governs a bill due on p_due: in force that day, the customer class's own
-- before the one for every class; no row when none is. A set-returning SQL function of one
-- SELECT, so PostgreSQL inlines it into the query that joins it (no call per bill).
CREATE OR REPLACE FUNCTION late_fee_rule_for(p_biller_id integer, p_class text, p_due date)
RETURNS SETOF late_fee_rules LANGUAGE sql STABLE ROWS 1 AS $$
    SELECT * FROM late_fee_rules r
     WHERE r.biller_id = p_biller_id AND r.effective_from <= p_due
       AND (r.effective_to IS NULL OR p_due <= r.effective_to)
       AND (r.customer_class = p_class OR r.customer_class IS NULL)
     ORDER BY r.customer_class NULLS LAST
     LIMIT 1
$$;

-- The late fee on p_on (a business date, Asia/Shanghai) of each hosted bill of a utility:
-- the rule's fee (up to the day it was paid, for a paid bill), plus the fee imported with
-- the bill, less the waivers made by p_on (a later one forgave a fee that had not run yet
-- on p_on). The rule's fee is principal × ‰ a day × days charged, capped (LEAST skips a
-- NULL cap), rounded once, half up (round() of a positive numeric), to fen; multiplying
-- by 0.001 rather than dividing by 1000 keeps numeric exact; no rule in force, no fee.
--
-- Set-based and inlined like late_fee_rule_for: a query that joins it on bill_no reads
-- only those bills (the overdue pass, a million at a time), where a function call per
-- bill cost the pass fourteen times its bare inserts.
CREATE OR REPLACE FUNCTION bill_late_fees(p_biller_id integer, p_on date)
RETURNS TABLE (bill_no text, late_fee bigint) LANGUAGE sql STABLE AS $$
    SELECT b.bill_no,
           coalesce(round(least(
               b.amount * r.daily_per_mille * 0.001
                 * late_fee_days(r.basis, r.grace_days, b.due_date,
                                 least(p_on, (b.paid_at AT TIME ZONE 'Asia/Shanghai')::date)),
               r.cap_fen, b.amount * r.cap_percent * 0.01))::bigint, 0)
           + b.late_fee - coalesce(w.waived, 0)
      FROM bills b
      JOIN customer_accounts a ON a.biller_id = b.biller_id AND a.account_no = b.account_no
      LEFT JOIN LATERAL late_fee_rule_for(b.biller_id, a.customer_class, b.due_date) r ON true
      -- the waivers summed per bill (hashed against many bills; for one bill PostgreSQL
      -- pushes its bill_no into the grouping), not an aggregate run for every bill
      LEFT JOIN (
          SELECT w.bill_no, sum(w.amount)::bigint AS waived FROM late_fee_waivers w
           WHERE w.biller_id = p_biller_id AND w.business_date <= p_on
           GROUP BY w.bill_no
      ) w ON w.bill_no = b.bill_no
     WHERE b.biller_id = p_biller_id
$$;

-- One bill's late fee on p_on; NULL for a bill that does not exist.
CREATE OR REPLACE FUNCTION bill_late_fee(p_biller_id integer, p_bill_no text, p_on date)
RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT f.late_fee FROM bill_late_fees(p_biller_id, p_on) f WHERE f.bill_no = p_bill_no
$$;

-- bill_late_fee for a caller that holds the bill's row (the payment check, vouchers,
-- auto-pay, the bill reads of ``billing/repository.py``): a bill not past its due date with
-- no imported fee has no fee, and nothing is read for it — which is most bills paid. None
-- accrued (late_fee_days is 0 up to the due date), and no waiver was made by p_on: a waiver
-- needs a fee to waive on the day it is made. A plain CASE, so PostgreSQL inlines it and
-- calls bill_late_fee only for the others.
CREATE OR REPLACE FUNCTION bill_late_fee_of(
    p_biller_id integer, p_bill_no text, p_due date, p_imported bigint, p_on date
) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_on <= p_due AND p_imported = 0 THEN 0
                ELSE bill_late_fee(p_biller_id, p_bill_no, p_on) END
$$;
