-- How many mainland working days (adjusted weekends included) fall after p_after up to and
-- including p_through: 0 when p_through is not after p_after. For rules that count working
-- days (billing's late fees); the Python rules count ``working.is_working`` days the same.
CREATE OR REPLACE FUNCTION calendar_working_days(p_after date, p_through date)
RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT count(*)::integer FROM calendar_days
     WHERE day > p_after AND day <= p_through AND working
$$;
