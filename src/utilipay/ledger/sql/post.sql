-- Every journal entry is made by ``ledger_post`` (a batch's entries, one per payment, by
-- ``ledger_post_payment_entries``, the same two statements over many entries): the entry
-- and its postings, a line per (account, amount) in the order given, written in one
-- statement (the balance trigger of guards.sql checks each statement, so an entry that
-- does not sum to zero is refused whole). Amounts are signed fen: a debit positive, a credit negative.
-- The rules of the money flows follow it; ``ledger/flows.py`` tells every flow's postings.
CREATE OR REPLACE FUNCTION ledger_post(
    p_biller_id integer, p_kind text, p_at timestamptz, p_accounts integer[],
    p_amounts bigint[], p_payment_id text DEFAULT NULL, p_memo text DEFAULT ''
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_entry bigint;
BEGIN
    IF cardinality(p_accounts) IS DISTINCT FROM cardinality(p_amounts) THEN
        RAISE EXCEPTION 'a journal entry needs an amount per account: % accounts, % amounts',
            cardinality(p_accounts), cardinality(p_amounts)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO journal_entries (biller_id, kind, payment_id, memo, created_at)
    VALUES (p_biller_id, p_kind, p_payment_id, p_memo, p_at)
    RETURNING id INTO v_entry;
    INSERT INTO postings (biller_id, entry_id, line_no, account_id, amount)
    SELECT p_biller_id, v_entry, l.line_no, l.account_id, l.amount
      FROM unnest(p_accounts, p_amounts) WITH ORDINALITY AS l (account_id, amount, line_no);
    RETURN v_entry;
END $$;

-- The flows' rules are simple SQL functions: the planner inlines them into their caller,
-- so a rule costs the hot path nothing over calling ``ledger_post`` itself.

-- Entries of one kind, one per payment (``p_biller_ids[k]``, ``p_payment_ids[k]``), with
-- their lines: line j is entry ``p_line_entries[j]``'s (its k), its account and signed
-- amount, an entry's lines numbered in the order given. Two statements for them all, not
-- two per entry; the balance trigger checks every entry the postings statement wrote. The
-- entries' ids, in no set order. For the rules of a batch's entries below.
CREATE OR REPLACE FUNCTION ledger_post_payment_entries(
    p_kind text, p_at timestamptz, p_biller_ids integer[], p_payment_ids text[],
    p_line_entries integer[], p_line_accounts integer[], p_line_amounts bigint[]
) RETURNS SETOF bigint LANGUAGE sql AS $$
    WITH entries AS (
        INSERT INTO journal_entries (biller_id, kind, payment_id, memo, created_at)
        SELECT biller_id, p_kind, payment_id, '', p_at
          FROM unnest(p_biller_ids, p_payment_ids) AS p (biller_id, payment_id)
        RETURNING biller_id, id, payment_id),
    -- written whole although nothing reads it: a data-modifying WITH always is
    lines AS (
        INSERT INTO postings (biller_id, entry_id, line_no, account_id, amount)
        SELECT e.biller_id, e.id, row_number() OVER (PARTITION BY e.id ORDER BY l.j),
               l.account_id, l.amount
          FROM unnest(p_line_entries, p_line_accounts, p_line_amounts)
               WITH ORDINALITY AS l (k, account_id, amount, j)
          JOIN entries e
            ON e.biller_id = p_biller_ids[l.k] AND e.payment_id = p_payment_ids[l.k])
    SELECT id FROM entries
$$;

-- Bill payments, once written off (hosted: in ``pay_hosted_many``; remote: when the biller
-- confirms): for each, the channel owes it to the hub (its receivable debited), the hub
-- owes it to the biller (its payable credited). An entry per payment.
CREATE OR REPLACE FUNCTION ledger_post_payments(
    p_biller_ids integer[], p_payment_ids text[], p_at timestamptz, p_receivables integer[],
    p_payables integer[], p_amounts bigint[]
) RETURNS SETOF bigint LANGUAGE sql AS $$
    SELECT ledger_post_payment_entries('PAYMENT', p_at, p_biller_ids, p_payment_ids,
                                       array_agg(k ORDER BY k, l.n),
                                       array_agg(l.account ORDER BY k, l.n),
                                       array_agg(l.amount ORDER BY k, l.n))
      FROM generate_subscripts(p_payment_ids, 1) k,
           LATERAL (VALUES (1, p_receivables[k], p_amounts[k]),
                           (2, p_payables[k], -p_amounts[k])) AS l (n, account, amount)
$$;

-- One bill payment: its entry's id.
CREATE OR REPLACE FUNCTION ledger_post_payment(
    p_biller_id integer, p_payment_id text, p_at timestamptz, p_receivable integer,
    p_payable integer, p_amount bigint
) RETURNS bigint LANGUAGE sql AS $$
    SELECT ledger_post_payments(ARRAY[p_biller_id], ARRAY[p_payment_id], p_at,
                                ARRAY[p_receivable], ARRAY[p_payable], ARRAY[p_amount])
$$;

-- A prepaid top-up (``prepaid_top_up``): the channel owes it to the hub (its receivable
-- debited), the account holder has it in store (the account's prepaid balance credited).
CREATE OR REPLACE FUNCTION ledger_post_top_up(
    p_biller_id integer, p_payment_id text, p_at timestamptz, p_receivable integer,
    p_balance integer, p_amount bigint, p_account_no text
) RETURNS bigint LANGUAGE sql AS $$
    SELECT ledger_post(p_biller_id, 'PREPAID_TOPUP', p_at, ARRAY[p_receivable, p_balance],
                       ARRAY[p_amount, -p_amount], p_payment_id, 'top-up of ' || p_account_no)
$$;

-- A day's prepaid use at one biller (``prepaid/accrual.py``), one entry for all its
-- accounts: the biller's payable credited with the total (line 1), each account's prepaid
-- balance debited with its charge (a line each, in the order given). Arrays, not a call
-- per account: a large utility's day is a million lines.
CREATE OR REPLACE FUNCTION ledger_post_accrual(
    p_biller_id integer, p_day date, p_at timestamptz, p_balances integer[],
    p_charges bigint[]
) RETURNS bigint LANGUAGE sql AS $$
    SELECT ledger_post(p_biller_id, 'PREPAID_ACCRUAL', p_at,
                       ledger_account('BILLER_PAYABLE', p_biller_id) || p_balances,
                       -(SELECT sum(c) FROM unnest(p_charges) c)::bigint || p_charges,
                       NULL, 'prepaid use of ' || p_day)
$$;

-- Vouchers (``vouchers/``): the face value of every voucher sold is owed to its holder
-- (the utility's ``VOUCHER_LIABILITY``) until it is redeemed or expires.

-- Vouchers sold (``vouchers_activate``), one entry per activation: the seller paid their
-- total (an outlet's ``OUTLET_FLOAT`` debited, or the utility's ``BILLER_PAYABLE`` when it
-- sold them itself and holds the cash), the holders are owed it.
CREATE OR REPLACE FUNCTION ledger_post_voucher_sale(
    p_biller_id integer, p_at timestamptz, p_seller integer, p_amount bigint, p_memo text
) RETURNS bigint LANGUAGE sql AS $$
    SELECT ledger_post(p_biller_id, 'VOUCHER_SALE', p_at,
                       ARRAY[p_seller, ledger_account('VOUCHER_LIABILITY', p_biller_id)],
                       ARRAY[p_amount, -p_amount], NULL, p_memo)
$$;

-- Vouchers redeemed (``voucher_redeem_many``), an entry each: the liability debited with
-- the face value, credited where it went: the utility's payable for the bills written off,
-- the account's prepaid balance, the credit held for the account's next bills. Empty parts
-- get no line.
CREATE OR REPLACE FUNCTION ledger_post_voucher_redemptions(
    p_biller_ids integer[], p_payment_ids text[], p_at timestamptz, p_bills bigint[],
    p_prepaid_accounts integer[], p_prepaid bigint[], p_credits bigint[]
) RETURNS SETOF bigint LANGUAGE sql AS $$
    SELECT ledger_post_payment_entries('VOUCHER_REDEMPTION', p_at, p_biller_ids, p_payment_ids,
                                       array_agg(k ORDER BY k, l.n),
                                       array_agg(l.account ORDER BY k, l.n),
                                       array_agg(l.amount ORDER BY k, l.n))
      FROM generate_subscripts(p_payment_ids, 1) k,
           LATERAL (VALUES (1, ledger_account('VOUCHER_LIABILITY', p_biller_ids[k]),
                            p_bills[k] + p_prepaid[k] + p_credits[k]),
                           (2, ledger_account('BILLER_PAYABLE', p_biller_ids[k]), -p_bills[k]),
                           (3, p_prepaid_accounts[k], -p_prepaid[k]),
                           (4, ledger_account('VOUCHER_CREDIT', p_biller_ids[k]), -p_credits[k]))
               AS l (n, account, amount)
     WHERE l.amount <> 0
$$;

-- Bills written off from an account's voucher credit (``vouchers_use_credit``): the credit
-- debited, the utility's payable credited.
CREATE OR REPLACE FUNCTION ledger_post_voucher_credit_use(
    p_biller_id integer, p_payment_id text, p_at timestamptz, p_amount bigint
) RETURNS bigint LANGUAGE sql AS $$
    SELECT ledger_post(p_biller_id, 'VOUCHER_CREDIT_USE', p_at,
                       ARRAY[ledger_account('VOUCHER_CREDIT', p_biller_id),
                             ledger_account('BILLER_PAYABLE', p_biller_id)],
                       ARRAY[p_amount, -p_amount], p_payment_id)
$$;

-- Sold vouchers that expired unredeemed (breakage, ``vouchers/expiry.py``), one entry per
-- utility and run: the liability debited, the utility's payable credited (the utility
-- keeps what its unused vouchers were sold for).
CREATE OR REPLACE FUNCTION ledger_post_voucher_breakage(
    p_biller_id integer, p_at timestamptz, p_amount bigint, p_memo text
) RETURNS bigint LANGUAGE sql AS $$
    SELECT ledger_post(p_biller_id, 'VOUCHER_BREAKAGE', p_at,
                       ARRAY[ledger_account('VOUCHER_LIABILITY', p_biller_id),
                             ledger_account('BILLER_PAYABLE', p_biller_id)],
                       ARRAY[p_amount, -p_amount], NULL, p_memo)
$$;

-- A float deposit (``outlets/deposits.py``): the outlet's owner paid it into the hub's bank
-- (HUB_BANK debited) and the hub owes it to the owner until payments spend it (the
-- outlet's OUTLET_FLOAT credited). No utility's: journal biller_id 0, the hub's own book.
CREATE OR REPLACE FUNCTION ledger_post_float_deposit(
    p_at timestamptz, p_bank integer, p_float integer, p_amount bigint, p_reference text
) RETURNS bigint LANGUAGE sql AS $$
    SELECT ledger_post(0, 'FLOAT_DEPOSIT', p_at, ARRAY[p_bank, p_float],
                       ARRAY[p_amount, -p_amount], NULL, 'float deposit ' || p_reference)
$$;

-- A terminal payment voided the same day (``payments/voids.py``): its PAYMENT entry
-- reversed, the biller's payable debited (the utility is no longer owed it) and the outlet's
-- float credited (given back to the outlet's owner). Same biller, same payment id.
CREATE OR REPLACE FUNCTION ledger_post_payment_void(
    p_biller_id integer, p_payment_id text, p_at timestamptz, p_payable integer,
    p_float integer, p_amount bigint
) RETURNS bigint LANGUAGE sql AS $$
    SELECT ledger_post(p_biller_id, 'PAYMENT_VOID', p_at, ARRAY[p_payable, p_float],
                       ARRAY[p_amount, -p_amount], p_payment_id)
$$;
