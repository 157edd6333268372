"""Tariffs: effective-dated per biller and customer class; block, time-of-use and fixed charges.

- ``tariffs``: a published tariff, by code, in kWh or m3.
- ``tariff_versions``: its prices from a date, immutable once loaded (a trigger
  refuses updates and deletes): the band period (month or calendar year), the
  fixed monthly charge (fen) and, for a time-of-use tariff, the price of each
  register (peak, flat, valley; all three or none).
- ``tariff_blocks``: a version's bands with explicit bounds on the band
  period's cumulative usage, (lower_bound, upper_bound], the last open-ended;
  with register prices, the block prices are adders on the total usage.
- ``tariff_assignments``: which tariff a biller's customer class pays from a date.
- ``customer_accounts.customer_class``: residential unless told otherwise.
- The calculator of ``tariffs/calculator.py`` in SQL, for set-based accruals and
  bill runs: ``tariff_energy_charge`` (exact fen), ``tariff_to_fen`` (the one
  rounding), ``tariff_accrual_posting``, ``tariff_band_start`` and
  ``tariff_version_for`` (the version in force).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE tariffs (
    code text PRIMARY KEY CHECK (code ~ '^[A-Z0-9_]{2,32}$'),
    name text NOT NULL,
    unit text NOT NULL CHECK (unit IN ('kWh', 'm3')),
    created_at timestamptz NOT NULL
);

CREATE TABLE tariff_versions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tariff_code text NOT NULL REFERENCES tariffs (code),
    effective_from date NOT NULL,
    band_period text NOT NULL CHECK (band_period IN ('month', 'year')),
    fixed_monthly bigint NOT NULL CHECK (fixed_monthly >= 0),  -- fen per month
    peak_price numeric(12, 4) CHECK (peak_price >= 0),  -- yuan per unit
    flat_price numeric(12, 4) CHECK (flat_price >= 0),
    valley_price numeric(12, 4) CHECK (valley_price >= 0),
    loaded_at timestamptz NOT NULL,
    loaded_by text NOT NULL,
    UNIQUE (tariff_code, effective_from),
    CHECK ((peak_price IS NULL) = (flat_price IS NULL)
           AND (flat_price IS NULL) = (valley_price IS NULL))
);

CREATE TABLE tariff_blocks (
    version_id bigint NOT NULL REFERENCES tariff_versions (id),
    band smallint NOT NULL CHECK (band >= 1),
    lower_bound numeric(16, 3) NOT NULL CHECK (lower_bound >= 0),
    upper_bound numeric(16, 3) CHECK (upper_bound > lower_bound),  -- NULL: no limit
    price numeric(12, 4) NOT NULL CHECK (price >= 0),  -- yuan per unit
    PRIMARY KEY (version_id, band)
);

CREATE TABLE tariff_assignments (
    biller_id integer NOT NULL REFERENCES billers (id),
    customer_class text NOT NULL CHECK (customer_class ~ '^[a-z][a-z0-9_]{1,31}$'),
    effective_from date NOT NULL,
    tariff_code text NOT NULL REFERENCES tariffs (code),
    assigned_at timestamptz NOT NULL,
    assigned_by text NOT NULL,
    PRIMARY KEY (biller_id, customer_class, effective_from)
);

ALTER TABLE customer_accounts
    ADD COLUMN customer_class text NOT NULL DEFAULT 'residential'
        CHECK (customer_class ~ '^[a-z][a-z0-9_]{1,31}$');

CREATE FUNCTION tariff_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tariff versions are immutable: % on % refused (load a new version)',
        TG_OP, TG_TABLE_NAME;
END $$;
CREATE TRIGGER tariff_versions_immutable BEFORE UPDATE OR DELETE ON tariff_versions
    FOR EACH STATEMENT EXECUTE FUNCTION tariff_refuse_change();
CREATE TRIGGER tariff_blocks_immutable BEFORE UPDATE OR DELETE ON tariff_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION tariff_refuse_change();
"""

# The calculator in SQL. Exact numeric throughout (PostgreSQL multiplies and adds numeric
# without rounding); round() is half away from zero, as the Python to_fen.
FUNCTIONS = """
-- The exact energy charge in fen of a period's usage: ``total`` after ``used_before`` in
-- the band period, through the blocks; plus, for a time-of-use version, each register's
-- usage at its price (NULL registers then give NULL: a charge that cannot be computed).
CREATE FUNCTION tariff_energy_charge(version_id bigint, used_before numeric, total numeric,
                                     peak numeric, flat numeric, valley numeric)
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
CREATE FUNCTION tariff_to_fen(exact numeric) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT round(exact)::bigint
$$;

-- A prepaid day's posting: the rounded month to date minus the rounded month to yesterday.
CREATE FUNCTION tariff_accrual_posting(month_exact_before numeric, day_exact numeric)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT round(month_exact_before + day_exact)::bigint - round(month_exact_before)::bigint
$$;

-- The first day of the band period (month or calendar year) holding ``day``.
CREATE FUNCTION tariff_band_start(band_period text, day date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT day + 1 - CASE band_period WHEN 'month' THEN extract(day FROM day)
                                      ELSE extract(doy FROM day) END::integer
$$;

-- The version in force on ``day`` for a biller's customer class: the latest assignment
-- from on or before the day, then that tariff's latest version from on or before it.
CREATE FUNCTION tariff_version_for(biller_id integer, customer_class text, day date)
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
"""


def upgrade() -> None:
    op.execute(TABLES)
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION tariff_version_for(integer, text, date);
        DROP FUNCTION tariff_band_start(text, date);
        DROP FUNCTION tariff_accrual_posting(numeric, numeric);
        DROP FUNCTION tariff_to_fen(numeric);
        DROP FUNCTION tariff_energy_charge(bigint, numeric, numeric, numeric, numeric, numeric);
        ALTER TABLE customer_accounts DROP COLUMN customer_class;
        DROP TABLE tariff_assignments, tariff_blocks, tariff_versions, tariffs;
        DROP FUNCTION tariff_refuse_change();
        """
    )
