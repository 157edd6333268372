-- A hosted biller's books are the hub's own tables, so for it accepting the payment,
-- writing the bills off and booking the money are one transaction and, to keep a payment
-- at one round trip, one call. A remote biller does the same three steps with the biller
-- protocol in between (``payments/remote.py``, ``payments/outcomes.py``).
--
-- Outcomes: CREATED, EXISTING (same order, same request), IDEMPOTENCY_CONFLICT,
-- REPLAYED (nonce seen), ACCOUNT_NOT_FOUND, NO_BILL_DUE, BILL_NOT_FOUND,
-- BILL_ALREADY_PAID, AMOUNT_MISMATCH, FLOAT_INSUFFICIENT. Refusals write nothing but the
-- nonce, so a refused request cannot be replayed later when the state has changed. The
-- payment is written with its order's claim and an order's payment is found through the
-- claim (``hosted_payments_write``, ``order_payment``: orders.sql). What other areas own
-- goes through them: the nonce (``channel_nonce_use``), the bills (read and locked through
-- ``billing_bills``, written off by ``billing_write_off_many``; each bill's late fee on the
-- payment's business date is ``bill_late_fee``'s), the ledger entries (the rule for
-- payments, ``ledger_post_payments``) and the events (``outbox_emit``).
--
-- A terminal's payment (channel-api.md §11; ``p_terminal``, NULL for a channel's) takes
-- its amount from the outlet's float in this transaction (``outlet_float_take``: FLOAT_
-- INSUFFICIENT when it cannot cover it), is booked against the float's account (the
-- caller passes it as ``p_receivable_account``) and records which outlet, terminal and
-- operator took it (``outlet_payment_taken``). A store-and-forward payment whose bill was
-- paid meanwhile is listed in the outlet's refunds-due (``outlet_refund_due``). The
-- float's row is locked before any bill (``pay_hosted_batch``; outlets/sql/floats.sql).

-- What a hosted payment does before it is written (``pay_hosted``, and each item of a
-- batch in ``pay_hosted_many``): the nonce used, a repeated order answered, the bills
-- locked and totalled, and a terminal's amount taken from its outlet's float (locked first
-- by ``pay_hosted_batch``). A row with an outcome is the answer; a row without one is a
-- payment to write, with the bills it pays. A terminal's payment whose bill was paid
-- meanwhile is listed in the outlet's refunds-due here.
CREATE OR REPLACE FUNCTION pay_hosted_prepare(
    p_channel_id integer, p_nonce text, p_order_id text, p_request_hash bytea,
    p_biller_id integer, p_account_no text, p_amount bigint, p_bill_nos text[],
    p_now timestamptz, p_terminal jsonb,
    OUT outcome text, OUT detail text, OUT payment payments, OUT bill_nos text[]
) LANGUAGE plpgsql AS $$
DECLARE
    -- the business day whose late fee is due (billing/sql/late_fees.sql)
    v_on date := (p_now AT TIME ZONE 'Asia/Shanghai')::date;
    v_total bigint;
    v_found integer;
    v_foreign text;
    v_paid text;
BEGIN
    IF p_nonce IS NOT NULL THEN  -- nested: SQL's AND may evaluate either side first
        IF NOT channel_nonce_use(p_channel_id, p_nonce, p_now) THEN
            outcome := 'REPLAYED';
            detail := 'nonce already used';
            RETURN;
        END IF;
    END IF;

    SELECT * INTO payment FROM order_payment(p_channel_id, p_order_id);
    IF FOUND THEN
        SELECT r.outcome, r.detail INTO outcome, detail FROM pay_hosted_repeat(payment, p_request_hash) r;
        RETURN;
    END IF;

    -- Lock the bills in a fixed order, so concurrent payments queue instead of deadlocking.
    IF p_bill_nos IS NULL THEN
        SELECT array_agg(b.bill_no ORDER BY b.bill_no),
               sum(b.amount + bill_late_fee_of(p_biller_id, b.bill_no, b.due_date, b.late_fee, v_on)), count(*)
          INTO bill_nos, v_total, v_found
          FROM (SELECT bill_no, amount, due_date, late_fee FROM billing_bills
                 WHERE biller_id = p_biller_id AND account_no = p_account_no AND status = 'UNPAID'
                 ORDER BY bill_no FOR UPDATE) b;
        IF v_found = 0 THEN
            SELECT * INTO payment FROM order_payment(p_channel_id, p_order_id);
            IF FOUND THEN  -- a concurrent twin of this request paid them first
                SELECT r.outcome, r.detail INTO outcome, detail FROM pay_hosted_repeat(payment, p_request_hash) r;
                RETURN;
            END IF;
            SELECT r.outcome, r.detail INTO outcome, detail FROM pay_hosted_refusal(p_biller_id,
                p_account_no, 'NO_BILL_DUE', format('account %s has nothing due', p_account_no)) r;
            RETURN;
        END IF;
    ELSE
        SELECT array_agg(b.bill_no ORDER BY b.bill_no),
               sum(b.amount + bill_late_fee_of(p_biller_id, b.bill_no, b.due_date, b.late_fee, v_on)), count(*),
               min(b.bill_no) FILTER (WHERE b.account_no <> p_account_no),
               min(b.bill_no) FILTER (WHERE b.status <> 'UNPAID')
          INTO bill_nos, v_total, v_found, v_foreign, v_paid
          FROM (SELECT bill_no, account_no, status, amount, due_date, late_fee FROM billing_bills
                 WHERE biller_id = p_biller_id AND bill_no = ANY (p_bill_nos)
                 ORDER BY bill_no FOR UPDATE) b;
        IF v_found < cardinality(p_bill_nos) OR v_foreign IS NOT NULL THEN
            SELECT r.outcome, r.detail INTO outcome, detail FROM pay_hosted_refusal(p_biller_id,
                p_account_no, 'BILL_NOT_FOUND', format('not every bill of %s is a bill of account %s',
                                                       array_to_string(p_bill_nos, ','), p_account_no)) r;
            RETURN;
        END IF;
        IF v_paid IS NOT NULL THEN
            SELECT * INTO payment FROM order_payment(p_channel_id, p_order_id);
            IF FOUND THEN  -- a concurrent twin of this request paid it first
                SELECT r.outcome, r.detail INTO outcome, detail FROM pay_hosted_repeat(payment, p_request_hash) r;
                RETURN;
            END IF;
            IF p_terminal ->> 'collected_at' IS NOT NULL THEN  -- the collector holds the cash
                PERFORM outlet_refund_due(p_terminal, p_channel_id, p_order_id, p_biller_id,
                    p_account_no, p_bill_nos, p_amount, 'BILL_ALREADY_PAID',
                    format('bill %s is already paid', v_paid), p_now);
            END IF;
            outcome := 'BILL_ALREADY_PAID';
            detail := format('bill %s is already paid', v_paid);
            RETURN;
        END IF;
    END IF;

    IF v_total <> p_amount THEN
        outcome := 'AMOUNT_MISMATCH';
        detail := format('bills total %s, got %s', v_total, p_amount);
    ELSE
        detail := pay_hosted_float_take(p_terminal, p_amount, p_biller_id, p_now);
        outcome := CASE WHEN detail IS NOT NULL THEN 'FLOAT_INSUFFICIENT' END;
    END IF;
END $$;

-- One hosted payment: a batch of one (``pay_hosted_many``, batches.sql), so a payment is
-- written by one body of SQL whether it comes alone or with others.
CREATE OR REPLACE FUNCTION pay_hosted(
    p_id text, p_channel_id integer, p_nonce text, p_order_id text, p_request_hash bytea,
    p_biller_id integer, p_account_no text, p_amount bigint, p_bill_nos text[], p_payer text,
    p_now timestamptz, p_receipt_prefix text,
    p_receivable_account integer, p_payable_account integer, p_terminal jsonb DEFAULT NULL
) RETURNS TABLE (outcome text, detail text, payment payments)
LANGUAGE sql AS $$
    SELECT m.outcome, m.detail, m.payment
      FROM pay_hosted_many(ARRAY[p_id], ARRAY[p_channel_id], ARRAY[p_nonce], ARRAY[p_order_id],
                           ARRAY[p_request_hash], ARRAY[p_biller_id], ARRAY[p_account_no],
                           ARRAY[p_amount], ARRAY[array_to_string(p_bill_nos, ',')],
                           ARRAY[p_payer], ARRAY[p_receivable_account],
                           ARRAY[p_payable_account], p_now, p_receipt_prefix,
                           ARRAY[p_terminal::text]) m
$$;

-- The answer to an order id already used: the same payment, or a conflict.
CREATE OR REPLACE FUNCTION pay_hosted_repeat(p_existing payments, p_request_hash bytea)
RETURNS TABLE (outcome text, detail text, payment payments) LANGUAGE sql AS $$
    SELECT CASE WHEN p_existing.request_hash = p_request_hash
                THEN 'EXISTING' ELSE 'IDEMPOTENCY_CONFLICT' END,
           CASE WHEN p_existing.request_hash = p_request_hash THEN NULL
                ELSE format('order %s was already used for a different request',
                            p_existing.order_id) END,
           p_existing;
$$;

-- A payment refused for its bills (none due, or not the account's): ACCOUNT_NOT_FOUND
-- instead when the biller has no such account.
CREATE OR REPLACE FUNCTION pay_hosted_refusal(
    p_biller_id integer, p_account_no text, p_outcome text, p_detail text
) RETURNS TABLE (outcome text, detail text, payment payments) LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN a.known THEN p_outcome ELSE 'ACCOUNT_NOT_FOUND' END,
           CASE WHEN a.known THEN p_detail
                ELSE format('biller has no account %s', p_account_no) END,
           NULL::payments
      FROM (SELECT EXISTS (SELECT 1 FROM billing_accounts
                            WHERE biller_id = p_biller_id AND account_no = p_account_no))
           AS a (known);
$$;
