"""The statements of a bill run (``billing/run.py``): set-based, one biller and month at a time.

Parameters: ``:b`` the biller, ``:p`` the period (YYYY-MM), ``:d0`` and ``:d1`` its first
and last days, ``:start_at`` and ``:end_at`` the instants they start and the month ends
(Asia/Shanghai), ``:run`` the run's id, ``:due`` the due date, ``:now`` the issue
instant, ``:code`` and ``:currency`` the biller's.

The temporary tables, each built by one statement over every account at once:

- ``run_versions``: the tariff version in force for each customer class and day;
  the days on which one changes cut the month into stretches, so the usage is summed
  per account and stretch before it meets the accounts' classes;
- ``run_segments``: each account's usage of the period per version in force (one
  segment unless prices changed mid-month), the usage earlier in its band period
  (earlier bills of the same tariff and year, then earlier segments), the exact
  charge through ``tariff_energy_charge`` — the calculator's SQL twin;
- ``run_accounts``: per account, the bill it gets (rounded once: the segments' exact
  sum to fen, plus the fixed monthly charge) or why it gets none;
- ``run_issued``: the bills actually written.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Date,
    DateTime,
    Integer,
    TextClause,
    bindparam,
    text,
)
from sqlalchemy import Text as TextType
from sqlalchemy.types import TypeEngine

_TYPES: dict[str, TypeEngine[Any]] = {
    "b": Integer(),
    "run": BigInteger(),
    "p": TextType(),
    "code": TextType(),
    "currency": TextType(),
    "d0": Date(),
    "d1": Date(),
    "due": Date(),
    "now": DateTime(timezone=True),
    "start_at": DateTime(timezone=True),
    "end_at": DateTime(timezone=True),
}


def _sql(statement: str) -> TextClause:
    """asyncpg needs every parameter's type up front; in ``:d1 - 1`` PostgreSQL cannot tell."""
    used: list[BindParameter[Any]] = [
        bindparam(name, type_=kind)
        for name, kind in _TYPES.items()
        if re.search(rf"(?<!:):{name}\b", statement)  # not a cast such as ::bigint
    ]
    return text(statement).bindparams(*used)


# A month of a biller's daily usage is aggregated in memory rather than sorted on disk.
WORK_MEM = text("SET LOCAL work_mem = '64MB'")
# Temporary tables have no statistics until analysed: without them the planner joins the
# month's days to every account before it reads the usage.
ANALYZE_VERSIONS = text("ANALYZE run_versions")
ANALYZE_SEGMENTS = text("ANALYZE run_segments")
ANALYZE_ACCOUNTS = text("ANALYZE run_accounts")

# Concurrent runs of one biller queue here; the second then finds the accounts billed.
LOCK = _sql("SELECT pg_advisory_xact_lock(hashtext('billing run'), :b)")

VERSIONS = _sql(
    """
    CREATE TEMP TABLE run_versions ON COMMIT DROP AS
    SELECT c.customer_class, g.day::date AS day, v.id AS version, v.tariff_code,
           v.fixed_monthly, v.peak_price IS NOT NULL AS tou,
           tariff_band_start(v.band_period, :d0) AS band_start
      FROM (SELECT DISTINCT customer_class FROM billing_accounts WHERE biller_id = :b) c
     CROSS JOIN generate_series(CAST(:d0 AS timestamp), CAST(:d1 AS timestamp),
                                interval '1 day') AS g(day)
      LEFT JOIN tariffs_versions v
             ON v.id = tariff_version_for(:b, c.customer_class, g.day::date)
    """
)

SEGMENTS = _sql(
    """
    CREATE TEMP TABLE run_segments ON COMMIT DROP AS
    WITH stretches AS (
        -- the days some class's prices change on: between them each class has one version
        SELECT coalesce(array_agg(day ORDER BY day), '{}') AS starts
          FROM (SELECT DISTINCT day
                  FROM (SELECT day, version IS DISTINCT FROM lag(version) OVER (
                                        PARTITION BY customer_class ORDER BY day) AS changed
                          FROM run_versions) c
                 WHERE changed AND day > :d0) d
    ), read AS (
        -- each account's usage per stretch: the month's rows read with no per-row join
        -- but the prepaid one (a prepaid account's days are settled daily from the day
        -- its accrual starts)
        SELECT u.account_no, width_bucket(u.day, s.starts) AS stretch,
               pa.accrue_from AS prepaid_from,
               min(u.day) AS first_day, max(u.day) AS last_day,
               -- the days read, a bit per day of the month (hashable, unlike a DISTINCT count)
               bit_or(1::bigint << (u.day - :d0)) AS read_days,
               sum(u.quantity) AS usage,
               sum(u.quantity) FILTER (WHERE u.register = 'peak') AS peak,
               sum(u.quantity) FILTER (WHERE u.register = 'flat') AS flat,
               sum(u.quantity) FILTER (WHERE u.register = 'valley') AS valley,
               bool_and(u.register <> 'total') AS by_register,
               bool_or(u.estimated) AS estimated
          FROM readings_daily_usage u
         CROSS JOIN stretches s
          LEFT JOIN prepaid_balances pa
                 ON pa.biller_id = u.biller_id AND pa.account_no = u.account_no
         WHERE u.biller_id = :b AND u.day BETWEEN :d0 AND :d1
           AND (pa.accrue_from IS NULL OR u.day < pa.accrue_from)
         GROUP BY u.account_no, width_bucket(u.day, s.starts), pa.accrue_from
    ), used AS (
        -- the stretches one version prices are one segment
        SELECT r.account_no, rv.version, rv.tariff_code, rv.band_start, rv.tou,
               rv.fixed_monthly, r.prepaid_from,
               min(r.first_day) AS first_day, max(r.last_day) AS last_day,
               bit_or(r.read_days) AS read_days, sum(r.usage) AS usage, sum(r.peak) AS peak,
               sum(r.flat) AS flat, sum(r.valley) AS valley,
               bool_and(r.by_register) AS by_register, bool_or(r.estimated) AS estimated
          FROM read r
          JOIN billing_accounts ca ON ca.biller_id = :b AND ca.account_no = r.account_no
          JOIN run_versions rv ON rv.customer_class = ca.customer_class AND rv.day = r.first_day
         GROUP BY r.account_no, rv.version, rv.tariff_code, rv.band_start, rv.tou,
                  rv.fixed_monthly, r.prepaid_from
    ), numbered AS (
        SELECT used.*,
               row_number() OVER (PARTITION BY account_no ORDER BY first_day) AS segment,
               coalesce(sum(usage) OVER (PARTITION BY account_no, tariff_code, band_start
                                         ORDER BY first_day
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                        0) AS used_in_bill
          FROM used
    ), billed AS (
        -- earlier bills in the same band period (the year, for annual bands), and later ones
        SELECT account_no, tariff_code, band_start,
               coalesce(sum(usage) FILTER (WHERE period < :p), 0) AS used,
               bool_or(period > :p) AS later
          FROM bill_usage
         WHERE biller_id = :b AND period <> :p
           AND band_start IN (SELECT DISTINCT band_start FROM run_versions)
         GROUP BY account_no, tariff_code, band_start
    ), placed AS (
        SELECT n.*, coalesce(bd.used, 0) + n.used_in_bill AS used_before,
               coalesce(bd.later, false) AS later_billed
          FROM numbered n
          LEFT JOIN billed bd ON bd.account_no = n.account_no
                             AND bd.tariff_code = n.tariff_code
                             AND bd.band_start = n.band_start
    )
    SELECT placed.*,
           -- NULL: no tariff in force, or a time-of-use tariff and no register readings
           CASE WHEN version IS NOT NULL AND (by_register OR NOT tou)
                THEN tariff_energy_charge(version, used_before, usage, coalesce(peak, 0),
                                          coalesce(flat, 0), coalesce(valley, 0))
           END AS exact
      FROM placed
    """
)

ACCOUNTS = _sql(
    """
    CREATE TEMP TABLE run_accounts ON COMMIT DROP AS
    WITH service AS (
        -- the days an account's meters were in service (a replacement meter follows on)
        SELECT account_no,
               greatest(:d0, min(installed_at AT TIME ZONE 'Asia/Shanghai')::date) AS svc_from,
               CASE WHEN bool_or(removed_at IS NULL) THEN :d1
                    ELSE least(:d1, (max(removed_at) AT TIME ZONE 'Asia/Shanghai'
                                     - interval '1 microsecond')::date) END AS svc_to
          FROM readings_meters
         WHERE biller_id = :b AND installed_at < :end_at
           AND (removed_at IS NULL OR removed_at > :start_at)
         GROUP BY account_no
    ), totals AS (
        SELECT s.account_no, bit_or(s.read_days) AS read_days, max(s.segment) AS last_segment,
               min(s.prepaid_from) AS prepaid_from,
               bool_or(s.exact IS NULL) AS unpriced, bool_or(s.later_billed) AS out_of_order,
               sum(s.exact) AS energy_exact, sum(s.usage) AS usage,
               -- the fixed charge of the latest version; none in the month prepaid begins,
               -- whose daily accrual charges it
               CASE WHEN min(s.prepaid_from) <= :d1 THEN 0
                    ELSE (array_agg(s.fixed_monthly ORDER BY s.segment DESC))[1] END AS fixed,
               bool_or(s.estimated) AS estimated
          FROM run_segments s
         GROUP BY s.account_no
    ), expected AS (
        -- the days that must be read: in service, and before prepaid takes over
        SELECT t.*, coalesce(sv.svc_from, :d0) - :d0 AS low,
               least(coalesce(sv.svc_to, :d1), t.prepaid_from - 1) - :d0 AS high
          FROM totals t LEFT JOIN service sv ON sv.account_no = t.account_no
    ), judged AS (
        SELECT e.*, tariff_to_fen(e.energy_exact) + e.fixed AS amount,
               e.read_days & m.days <> m.days AS incomplete
          FROM expected e
         CROSS JOIN LATERAL (
             SELECT CASE WHEN e.high < e.low THEN 0::bigint
                         ELSE ((1::bigint << (e.high + 1)) - 1) & ~((1::bigint << e.low) - 1)
                    END AS days) m
    )
    -- one bill number per account and month: a second run cannot make another
    SELECT j.*, 'M' || replace(:p, '-', '') || '-'
                || CASE WHEN j.account_no ~ '^[A-Za-z0-9_.-]{1,56}$' THEN j.account_no
                        -- a bill number a channel can send (channel-api.md), still one
                        ELSE left(md5(j.account_no), 20) END AS bill_no,
           CASE WHEN EXISTS (SELECT 1 FROM billing_bills bl WHERE bl.biller_id = :b
                                AND bl.account_no = j.account_no AND bl.period = :p)
                  OR EXISTS (SELECT 1 FROM bill_usage bu WHERE bu.biller_id = :b
                                AND bu.account_no = j.account_no AND bu.period = :p)
                     THEN 'already_billed'
                WHEN j.incomplete THEN 'awaiting_readings'
                WHEN j.unpriced THEN 'unpriced'
                WHEN j.out_of_order THEN 'out_of_order'
                WHEN j.amount > 0 THEN 'issued'
                ELSE 'nothing_due' END AS outcome
      FROM judged j
    """
)

# Metered accounts with no usage at all in the period (not prepaid for it, not billed).
UNREAD = _sql(
    """
    SELECT count(DISTINCT m.account_no) FROM readings_meters m
     WHERE m.biller_id = :b AND m.installed_at < :end_at
       AND (m.removed_at IS NULL OR m.removed_at > :start_at)
       AND NOT EXISTS (SELECT 1 FROM run_segments s WHERE s.account_no = m.account_no)
       AND NOT EXISTS (SELECT 1 FROM prepaid_balances pa WHERE pa.biller_id = :b
                          AND pa.account_no = m.account_no AND pa.accrue_from <= :d0)
       AND NOT EXISTS (SELECT 1 FROM billing_bills bl WHERE bl.biller_id = :b
                          AND bl.account_no = m.account_no AND bl.period = :p)
    """
)

PREPAID = _sql("SELECT count(*) FROM prepaid_balances WHERE biller_id = :b AND accrue_from <= :d0")

ISSUED_TABLE = text(
    "CREATE TEMP TABLE run_issued (account_no text, bill_no text, amount bigint) ON COMMIT DROP"
)

BILLS = _sql(
    """
    WITH issued AS (
        INSERT INTO billing_issue (biller_id, bill_no, account_no, period, amount, late_fee,
                                   currency, due_date, status, issued_at)
        SELECT :b, bill_no, account_no, :p, amount, 0, :currency, :due, 'UNPAID', :now
          FROM run_accounts WHERE outcome = 'issued'
         ORDER BY bill_no
        -- a bill number taken by an imported bill: that account is billed already
        ON CONFLICT DO NOTHING
        RETURNING account_no, bill_no, amount
    )
    INSERT INTO run_issued SELECT * FROM issued
    """
)

NOT_ISSUED = text(
    """
    UPDATE run_accounts a SET outcome = 'already_billed'
     WHERE a.outcome = 'issued'
       AND NOT EXISTS (SELECT 1 FROM run_issued i WHERE i.account_no = a.account_no)
    """
)

USAGE = _sql(
    """
    INSERT INTO bill_usage (biller_id, account_no, period, segment, bill_no, run_id,
                            tariff_version, tariff_code, band_start, first_day, last_day,
                            used_before, usage, peak, flat, valley, estimated, exact_fen)
    SELECT :b, s.account_no, :p, s.segment, i.bill_no, :run, s.version, s.tariff_code,
           s.band_start, s.first_day, s.last_day, s.used_before, s.usage,
           CASE WHEN s.by_register THEN coalesce(s.peak, 0) END,
           CASE WHEN s.by_register THEN coalesce(s.flat, 0) END,
           CASE WHEN s.by_register THEN coalesce(s.valley, 0) END,
           s.estimated, s.exact
      FROM run_segments s
      JOIN run_accounts a ON a.account_no = s.account_no
      LEFT JOIN run_issued i ON i.account_no = s.account_no
     -- usage that owed nothing is kept too: it counts towards the year's bands
     WHERE a.outcome IN ('issued', 'nothing_due')
    """
)

# The detail, as the calculator's lines: every register of a time-of-use version at its
# price, every band the usage reaches into (the share between the cumulative positions
# used_before and used_before + usage), then the fixed charge.
LINES = _sql(
    """
    INSERT INTO bill_lines (biller_id, bill_no, line, segment, kind, register, band,
                            lower_bound, upper_bound, from_units, to_units, units, price,
                            exact_fen)
    SELECT :b, bill_no,
           row_number() OVER (PARTITION BY bill_no ORDER BY segment, kind_order, ord),
           segment, kind, register, band, lower_bound, upper_bound, from_units, to_units,
           units, price, exact_fen
      FROM (
        SELECT i.bill_no, s.segment, 1 AS kind_order, r.ord, 'register' AS kind, r.register,
               NULL::smallint AS band, NULL::numeric AS lower_bound,
               NULL::numeric AS upper_bound, NULL::numeric AS from_units,
               NULL::numeric AS to_units, r.units, r.price, 100 * r.price * r.units AS exact_fen
          FROM run_segments s
          JOIN run_issued i ON i.account_no = s.account_no
          JOIN tariffs_versions v ON v.id = s.version
         CROSS JOIN LATERAL (VALUES (1, 'peak', v.peak_price, coalesce(s.peak, 0)),
                                    (2, 'flat', v.flat_price, coalesce(s.flat, 0)),
                                    (3, 'valley', v.valley_price, coalesce(s.valley, 0)))
               AS r (ord, register, price, units)
         WHERE v.peak_price IS NOT NULL
        UNION ALL
        SELECT i.bill_no, s.segment, 2, b.band, 'band', NULL, b.band, b.lower_bound,
               b.upper_bound, x.low, x.high, x.high - x.low, b.price,
               100 * b.price * (x.high - x.low)
          FROM run_segments s
          JOIN run_issued i ON i.account_no = s.account_no
          JOIN tariffs_blocks b ON b.version_id = s.version
         CROSS JOIN LATERAL (
             -- least() ignores a NULL upper bound: the open-ended band takes all the rest
             SELECT greatest(s.used_before, b.lower_bound) AS low,
                    least(s.used_before + s.usage, b.upper_bound) AS high) x
         WHERE x.high > x.low
        UNION ALL
        SELECT i.bill_no, a.last_segment, 3, 0, 'fixed', NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, a.fixed
          FROM run_accounts a JOIN run_issued i ON i.account_no = a.account_no
         WHERE a.fixed > 0
      ) lines
    """
)

# The same event, with the same payload, as a bill import emits (billing/service.py).
EVENTS = _sql(
    """
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT :b, 'bill.issued', bill_no,
           jsonb_build_object('biller', :code, 'account_no', account_no, 'bill_no', bill_no,
                              'period', :p, 'amount', amount, 'late_fee', 0,
                              'due_date', :due),
           :now
      FROM run_issued ORDER BY bill_no
    """
)

OUTCOMES = text(
    """
    SELECT outcome, count(*) AS accounts, coalesce(sum(amount), 0) AS amount,
           count(*) FILTER (WHERE estimated) AS estimated
      FROM run_accounts GROUP BY outcome
    """
)

DROP = text("DROP TABLE run_issued, run_accounts, run_segments, run_versions")
