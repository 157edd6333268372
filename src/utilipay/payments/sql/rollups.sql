-- Payments counted per business day (Asia/Shanghai, of their creation), utility, channel
-- and status, in the transaction that writes them (migration 0028): each statement on
-- ``payments`` adds one row per key it changed, +1 for a payment arriving in a status and
-- -1 for one leaving it. Rows are added, never updated, so concurrent payments never queue
-- on a shared counter; ``payment_rollups_fold`` merges a key's rows later. A figure is a
-- sum over its key's rows, the same before and after the fold.

-- Payments arrived in their statuses, counted: by the insert trigger for a statement's
-- rows, and by ``pay_hosted_batch`` once for a whole batch (below).
CREATE OR REPLACE FUNCTION payment_rollups_add(p_arrived payments[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payment_rollups (biller_id, business_date, channel_id, status, payments,
                                 amount, folded)
    SELECT biller_id, (created_at AT TIME ZONE 'Asia/Shanghai')::date, channel_id, status,
           count(*), sum(amount), false
      FROM unnest(p_arrived) GROUP BY 1, 2, 3, 4;
$$;

CREATE OR REPLACE FUNCTION payments_rollup_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM payment_rollups_add(ARRAY(SELECT ROW(a.*)::payments FROM arrived a));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION payments_rollup_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH moved AS (
        SELECT a.biller_id, a.id FROM arrived a
          JOIN departed d ON d.biller_id = a.biller_id AND d.id = a.id
         WHERE (a.status, a.created_at, a.channel_id, a.amount)
               IS DISTINCT FROM (d.status, d.created_at, d.channel_id, d.amount)
    ), counted AS (
        SELECT a.biller_id, a.created_at, a.channel_id, a.status, a.amount, 1 AS n
          FROM arrived a JOIN moved USING (biller_id, id)
        UNION ALL
        SELECT d.biller_id, d.created_at, d.channel_id, d.status, d.amount, -1
          FROM departed d JOIN moved USING (biller_id, id)
    )
    INSERT INTO payment_rollups (biller_id, business_date, channel_id, status, payments,
                                 amount, folded)
    SELECT biller_id, (created_at AT TIME ZONE 'Asia/Shanghai')::date, channel_id, status,
           sum(n), sum(n * amount), false
      FROM counted GROUP BY 1, 2, 3, 4
    HAVING sum(n) <> 0 OR sum(n * amount) <> 0;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION payments_rollup_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO payment_rollups (biller_id, business_date, channel_id, status, payments,
                                 amount, folded)
    SELECT biller_id, (created_at AT TIME ZONE 'Asia/Shanghai')::date, channel_id, status,
           -count(*), -sum(amount), false
      FROM departed GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

-- A batch of payments (``pay_hosted_batch``, ``voucher_redeem_batch``) inserts them one by
-- one and counts them once at its end: one row per key per batch, not per payment, on the
-- hot path. From ``payments_count_later()`` the insert triggers (here and minutes.sql)
-- skip them, until ``payments_counted(created)`` counts the payments it created.
CREATE OR REPLACE FUNCTION payments_count_later() RETURNS void LANGUAGE sql AS $$
    SELECT set_config('utilipay.payments_counted_by', 'batch', true);
$$;

CREATE OR REPLACE FUNCTION payments_counted(p_created payments[]) RETURNS void
LANGUAGE sql AS $$
    SELECT payment_rollups_add(p_created), payment_minutes_add(p_created);
    SELECT set_config('utilipay.payments_counted_by', '', true);
$$;

CREATE OR REPLACE TRIGGER payments_rollup_inserted
    AFTER INSERT ON payments REFERENCING NEW TABLE AS arrived
    FOR EACH STATEMENT
    WHEN (current_setting('utilipay.payments_counted_by', true) IS DISTINCT FROM 'batch')
    EXECUTE FUNCTION payments_rollup_inserted();
CREATE OR REPLACE TRIGGER payments_rollup_updated
    AFTER UPDATE ON payments REFERENCING NEW TABLE AS arrived OLD TABLE AS departed
    FOR EACH STATEMENT EXECUTE FUNCTION payments_rollup_updated();
CREATE OR REPLACE TRIGGER payments_rollup_deleted
    AFTER DELETE ON payments REFERENCING OLD TABLE AS departed
    FOR EACH STATEMENT EXECUTE FUNCTION payments_rollup_deleted();

-- Merge each key's rows into one (the worker, every few seconds): the rows it read are
-- deleted and their sum written in one statement, so a reader sees either. Rows added by
-- payments committed meanwhile are left for the next fold; one fold at a time (the
-- others return at once).
CREATE OR REPLACE FUNCTION payment_rollups_fold() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_merged bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('payment_rollups_fold')) THEN
        RETURN 0;
    END IF;
    WITH keys AS (
        SELECT DISTINCT biller_id, business_date, channel_id, status
          FROM payment_rollups WHERE NOT folded
    ), merged AS (
        DELETE FROM payment_rollups r USING keys k
         WHERE (r.business_date, r.biller_id, r.channel_id, r.status)
             = (k.business_date, k.biller_id, k.channel_id, k.status)
        RETURNING r.biller_id, r.business_date, r.channel_id, r.status, r.payments, r.amount
    )
    INSERT INTO payment_rollups (biller_id, business_date, channel_id, status, payments,
                                 amount, folded)
    SELECT biller_id, business_date, channel_id, status, sum(payments), sum(amount), true
      FROM merged GROUP BY 1, 2, 3, 4
    HAVING sum(payments) <> 0 OR sum(amount) <> 0;
    GET DIAGNOSTICS v_merged = ROW_COUNT;
    RETURN v_merged;
END $$;
