-- The state rule (prepaid/rules.py): positive and at least the reminder amount is NORMAL,
-- positive below it LOW, zero or less ARREARS; a CUT account stays CUT until its balance
-- is positive again. The tests hold the two to the same answers.
CREATE OR REPLACE FUNCTION prepaid_next_state(state text, balance bigint, reminder bigint)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN balance > 0 AND balance >= reminder THEN 'NORMAL'
                WHEN balance > 0 THEN 'LOW'
                WHEN state = 'CUT' THEN 'CUT'
                ELSE 'ARREARS' END
$$;

-- The outbox payload of a prepaid account's news.
CREATE OR REPLACE FUNCTION prepaid_event(a prepaid_accounts, extra jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'biller_id', a.biller_id, 'account_no', a.account_no, 'balance', a.balance,
        'currency', a.currency, 'state', a.state, 'episode', a.episode, 'cuts', a.cuts) || extra
$$;
