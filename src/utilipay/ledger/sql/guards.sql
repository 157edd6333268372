-- The ledger is append-only, and every statement that adds postings leaves each entry it
-- touched balanced (``ledger_post`` writes an entry's postings in one statement: no
-- half-written entries).

CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE OR REPLACE TRIGGER journal_entries_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE OR REPLACE TRIGGER postings_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT t.biller_id, t.entry_id, sum(p.amount) AS total, count(DISTINCT p.currency) AS currencies
      INTO bad
      FROM (SELECT DISTINCT biller_id, entry_id FROM new_postings) t
      JOIN postings p USING (biller_id, entry_id)
     GROUP BY t.biller_id, t.entry_id
    HAVING sum(p.amount) <> 0 OR count(DISTINCT p.currency) <> 1 OR count(*) < 2
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry %/% does not balance (sum %, % currencies)',
            bad.biller_id, bad.entry_id, bad.total, bad.currencies
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER postings_balanced
    AFTER INSERT ON postings REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_balanced();
