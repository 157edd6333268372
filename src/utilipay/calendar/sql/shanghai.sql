-- An instant as Shanghai wall time with its offset, as ``clock.to_shanghai_iso`` writes it.
CREATE OR REPLACE FUNCTION shanghai_iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS') || '+08:00'
$$;
