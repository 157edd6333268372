-- Payments counted per minute of their creation (UTC), utility, channel and status, with
-- their latency (created -> finished: a sum and a cumulative histogram), in the transaction
-- that writes them (migration 0037), for the anomaly monitoring of /metrics. As with
-- payment_rollups (rollups.sql): each statement on ``payments`` adds one row per key it
-- changed, +1 for a payment arriving in a status and -1 for one leaving it; rows are added,
-- never updated, so concurrent payments never queue on a shared counter, and
-- ``payment_minutes_fold`` merges a key's rows later.

-- milliseconds from created to finished; NULL while PROCESSING (inlined by the planner)
CREATE OR REPLACE FUNCTION payment_latency_ms(p_created timestamptz, p_finished timestamptz)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT round(extract(epoch FROM p_finished - p_created) * 1000)::bigint
$$;

-- Payments arrived in their statuses, counted: by the insert trigger for a statement's
-- rows, and by ``pay_hosted_batch`` once for a whole batch (as payment_rollups_add).
CREATE OR REPLACE FUNCTION payment_minutes_add(p_arrived payments[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payment_minutes (biller_id, minute, channel_id, status, payments, amount,
                                 latency_ms, within_500ms, within_1s, within_2s, within_5s,
                                 within_10s, within_30s, folded)
    SELECT biller_id, date_trunc('minute', created_at), channel_id, status, count(*),
           sum(amount), coalesce(sum(ms), 0), count(*) FILTER (WHERE ms <= 500),
           count(*) FILTER (WHERE ms <= 1000), count(*) FILTER (WHERE ms <= 2000),
           count(*) FILTER (WHERE ms <= 5000), count(*) FILTER (WHERE ms <= 10000),
           count(*) FILTER (WHERE ms <= 30000), false
      FROM (SELECT *, payment_latency_ms(created_at, finished_at) AS ms
              FROM unnest(p_arrived)) a
     GROUP BY 1, 2, 3, 4;
$$;

CREATE OR REPLACE FUNCTION payments_minutes_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM payment_minutes_add(ARRAY(SELECT ROW(a.*)::payments FROM arrived a));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION payments_minutes_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH moved AS (
        SELECT a.biller_id, a.id FROM arrived a
          JOIN departed d ON d.biller_id = a.biller_id AND d.id = a.id
         WHERE (a.status, a.created_at, a.finished_at, a.channel_id, a.amount)
               IS DISTINCT FROM (d.status, d.created_at, d.finished_at, d.channel_id, d.amount)
    ), counted AS (
        SELECT a.biller_id, a.created_at, a.channel_id, a.status, a.amount, 1 AS n,
               payment_latency_ms(a.created_at, a.finished_at) AS ms
          FROM arrived a JOIN moved USING (biller_id, id)
        UNION ALL
        SELECT d.biller_id, d.created_at, d.channel_id, d.status, d.amount, -1,
               payment_latency_ms(d.created_at, d.finished_at)
          FROM departed d JOIN moved USING (biller_id, id)
    )
    INSERT INTO payment_minutes (biller_id, minute, channel_id, status, payments, amount,
                                 latency_ms, within_500ms, within_1s, within_2s, within_5s,
                                 within_10s, within_30s, folded)
    SELECT biller_id, date_trunc('minute', created_at), channel_id, status, sum(n),
           sum(n * amount), coalesce(sum(n * ms), 0),
           coalesce(sum(n) FILTER (WHERE ms <= 500), 0),
           coalesce(sum(n) FILTER (WHERE ms <= 1000), 0),
           coalesce(sum(n) FILTER (WHERE ms <= 2000), 0),
           coalesce(sum(n) FILTER (WHERE ms <= 5000), 0),
           coalesce(sum(n) FILTER (WHERE ms <= 10000), 0),
           coalesce(sum(n) FILTER (WHERE ms <= 30000), 0), false
      FROM counted GROUP BY 1, 2, 3, 4
    HAVING sum(n) <> 0 OR sum(n * amount) <> 0 OR coalesce(sum(n * ms), 0) <> 0;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION payments_minutes_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO payment_minutes (biller_id, minute, channel_id, status, payments, amount,
                                 latency_ms, within_500ms, within_1s, within_2s, within_5s,
                                 within_10s, within_30s, folded)
    SELECT biller_id, date_trunc('minute', created_at), channel_id, status, -count(*),
           -sum(amount), -coalesce(sum(ms), 0), -count(*) FILTER (WHERE ms <= 500),
           -count(*) FILTER (WHERE ms <= 1000), -count(*) FILTER (WHERE ms <= 2000),
           -count(*) FILTER (WHERE ms <= 5000), -count(*) FILTER (WHERE ms <= 10000),
           -count(*) FILTER (WHERE ms <= 30000), false
      FROM (SELECT *, payment_latency_ms(created_at, finished_at) AS ms FROM departed) d
     GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER payments_minutes_inserted  -- skipped as payments_rollup_inserted
    AFTER INSERT ON payments REFERENCING NEW TABLE AS arrived
    FOR EACH STATEMENT
    WHEN (current_setting('utilipay.payments_counted_by', true) IS DISTINCT FROM 'batch')
    EXECUTE FUNCTION payments_minutes_inserted();
CREATE OR REPLACE TRIGGER payments_minutes_updated
    AFTER UPDATE ON payments REFERENCING NEW TABLE AS arrived OLD TABLE AS departed
    FOR EACH STATEMENT EXECUTE FUNCTION payments_minutes_updated();
CREATE OR REPLACE TRIGGER payments_minutes_deleted
    AFTER DELETE ON payments REFERENCING OLD TABLE AS departed
    FOR EACH STATEMENT EXECUTE FUNCTION payments_minutes_deleted();

-- Merge each key's rows into one and drop the minutes before ``p_keep_from`` (the worker,
-- every second): the rows it read are deleted and their sum written in one statement, so
-- a reader sees either. Rows added by payments committed meanwhile are left for the next
-- fold; one fold at a time (the others return at once).
CREATE OR REPLACE FUNCTION payment_minutes_fold(p_keep_from timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_merged bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('payment_minutes_fold')) THEN
        RETURN 0;
    END IF;
    DELETE FROM payment_minutes WHERE minute < p_keep_from;
    WITH keys AS (
        SELECT DISTINCT biller_id, minute, channel_id, status
          FROM payment_minutes WHERE NOT folded
    ), merged AS (
        DELETE FROM payment_minutes m USING keys k
         WHERE (m.minute, m.biller_id, m.channel_id, m.status)
             = (k.minute, k.biller_id, k.channel_id, k.status)
        RETURNING m.biller_id, m.minute, m.channel_id, m.status, m.payments, m.amount,
                  m.latency_ms, m.within_500ms, m.within_1s, m.within_2s, m.within_5s,
                  m.within_10s, m.within_30s
    )
    INSERT INTO payment_minutes (biller_id, minute, channel_id, status, payments, amount,
                                 latency_ms, within_500ms, within_1s, within_2s, within_5s,
                                 within_10s, within_30s, folded)
    SELECT biller_id, minute, channel_id, status, sum(payments), sum(amount), sum(latency_ms),
           sum(within_500ms), sum(within_1s), sum(within_2s), sum(within_5s),
           sum(within_10s), sum(within_30s), true
      FROM merged GROUP BY 1, 2, 3, 4
    HAVING sum(payments) <> 0 OR sum(amount) <> 0 OR sum(latency_ms) <> 0;
    GET DIAGNOSTICS v_merged = ROW_COUNT;
    RETURN v_merged;
END $$;
