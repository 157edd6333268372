-- The account plan's SQL half: how an account's code is formed and how the one account of
-- a kind an owner has is found (``ledger/accounts.py`` says which kinds there are and who
-- owns them).

-- An account's code: KIND:OWNER:CURRENCY, the owner being a biller's or a channel's code
-- or, for a prepaid balance, the biller's code and the account number
-- (``PREPAID_BALANCE:BJELEC:0100000099:CNY``).
CREATE OR REPLACE FUNCTION ledger_account_code(p_kind text, p_owner text, p_currency char(3))
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_kind || ':' || p_owner || ':' || p_currency
$$;

-- The account of a kind a biller or a channel has one of (every kind but PREPAID_BALANCE,
-- one per prepaid account, and OUTLET_FLOAT, one per outlet; HUB_BANK has no owner): its
-- id, NULL when it was never opened. Found through the
-- unique index ``ledger_accounts_owner``, whose expressions and predicate the WHERE clause
-- repeats (not by scanning a million prepaid balances).
CREATE OR REPLACE FUNCTION ledger_account(
    p_kind text, p_biller_id integer DEFAULT NULL, p_channel_id integer DEFAULT NULL
) RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT id FROM ledger_accounts
     WHERE kind = p_kind AND kind NOT IN ('PREPAID_BALANCE', 'OUTLET_FLOAT') AND currency = 'CNY'
       AND coalesce(biller_id, 0) = coalesce(p_biller_id, 0)
       AND coalesce(channel_id, 0) = coalesce(p_channel_id, 0)
$$;
