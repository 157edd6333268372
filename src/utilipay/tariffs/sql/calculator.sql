-- The calculator of ``tariffs/calculator.py`` in SQL, for set-based accruals and bill runs.
-- Exact numeric throughout (PostgreSQL multiplies and adds numeric without rounding);
-- round() is half away from zero, as the Python to_fen. The tests hold the two equal.

-- The exact energy charge in fen of a period's usage: ``total`` after ``used_before`` in
-- the band period, through the blocks; plus, for a time-of-use version, each register's
-- usage at its price (NULL registers then give NULL: a charge that cannot be computed).
CREATE OR REPLACE FUNCTION tariff_energy_charge(
    version_id bigint, used_before numeric, total numeric, peak numeric, flat numeric,
    valley numeric
)
RETURNS numeric LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT 100 * (
        CASE WHEN v.peak_price IS NULL THEN 0
             ELSE v.peak_price * peak + v.flat_price * flat + v.valley_price * valley END
        + coalesce((
            -- least() ignores a NULL upper bound: the open-ended band takes all the rest
            SELECT sum(b.price * (least(used_before + total, b.upper_bound)
                                  - greatest(used_before, b.lower_bound)))
              FROM tariff_blocks b
             WHERE b.version_id = v.id
               AND b.lower_bound < used_before + total
               AND (b.upper_bound IS NULL OR b.upper_bound > used_before)), 0))
      FROM tariff_versions v
     WHERE v.id = tariff_energy_charge.version_id
$$;

-- The one rounding: exact fen to whole fen, half up.
CREATE OR REPLACE FUNCTION tariff_to_fen(exact numeric) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT round(exact)::bigint
$$;

-- A prepaid day's posting: the rounded month to date minus the rounded month to yesterday.
CREATE OR REPLACE FUNCTION tariff_accrual_posting(month_exact_before numeric,
                                                  day_exact numeric)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT round(month_exact_before + day_exact)::bigint - round(month_exact_before)::bigint
$$;

-- The first day of the band period (month or calendar year) holding ``day``.
CREATE OR REPLACE FUNCTION tariff_band_start(band_period text, day date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT day + 1 - CASE band_period WHEN 'month' THEN extract(day FROM day)
                                      ELSE extract(doy FROM day) END::integer
$$;

-- The version in force on ``day`` for a biller's customer class: the latest assignment
-- from on or before the day, then that tariff's latest version from on or before it.
CREATE OR REPLACE FUNCTION tariff_version_for(biller_id integer, customer_class text, day date)
RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (SELECT v.id FROM tariff_versions v
             WHERE v.tariff_code = a.tariff_code AND v.effective_from <= day
             ORDER BY v.effective_from DESC LIMIT 1)
      FROM tariff_assignments a
     WHERE a.biller_id = tariff_version_for.biller_id
       AND a.customer_class = tariff_version_for.customer_class
       AND a.effective_from <= day
     ORDER BY a.effective_from DESC LIMIT 1
$$;
