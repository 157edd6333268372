"""The daily accrual (日结): each prepaid account's usage of a day, settled by its tariff.

Set-based, in one transaction per day, whatever the number of accounts:

1. ``settle``: every account due for the day (settled through the day before, or
   starting that day) that has the day's usage, locked (an account a top-up holds
   is skipped and settled by the next run), priced through its tariff version:
   the bands count the usage so far in the band period (month or year), and the
   amount posted is the rounded month-to-date charge minus the rounded month to
   yesterday, so a month's postings add up to its rounded charge (one rounding);
   the fixed monthly charge comes with the month's first day. The new balance,
   state, episode and notices follow the rules of ``prepaid/rules.py``.
2. one journal entry per biller, by the ledger's rule (``ledger/flows.py``): a line per
   account (its prepaid balance is debited) and the biller's payable credited with the
   total;
3. the accrual rows, the accounts' new standing, and the notices (the fee and
   the outage warnings) as outbox events; the time of the outage warning is kept:
   a cut waits for it (``cuts.py``).

An account whose day has no usage yet waits: days are settled in order, so a
reading that arrives late is never skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.clock import Clock
from utilipay.prepaid.params import typed as _sql

# The accounts due, locked, with their usage: a table of its own, analyzed, so the
# pricing below is planned for the real number of rows. (Planned inside one statement,
# the estimate comes from statistics taken before yesterday's run moved every account's
# accrued_through, and a million rows estimated as one are joined by nested loops.)
_DUE = _sql(
    """
    CREATE TEMP TABLE due ON COMMIT DROP AS
    WITH used AS (
        SELECT biller_id, account_no, sum(quantity) AS total,
               coalesce(sum(quantity) FILTER (WHERE register = 'peak'), 0) AS peak,
               coalesce(sum(quantity) FILTER (WHERE register = 'flat'), 0) AS flat,
               coalesce(sum(quantity) FILTER (WHERE register = 'valley'), 0) AS valley
          FROM readings_daily_usage WHERE day = :day GROUP BY biller_id, account_no
    )
    SELECT pa.biller_id, pa.account_no, pa.ledger_account_id, pa.balance, pa.state,
           pa.episode, pa.notified, pa.band_start, pa.band_usage, pa.month_start,
           pa.month_exact, u.total, u.peak, u.flat, u.valley, ca.customer_class,
           coalesce(pa.reminder, b.prepaid_reminder) AS reminder_amount
      FROM prepaid_accounts pa
      JOIN used u ON u.biller_id = pa.biller_id AND u.account_no = pa.account_no
      JOIN billing_accounts ca ON ca.biller_id = pa.biller_id AND ca.account_no = pa.account_no
      JOIN billers_directory b ON b.id = pa.biller_id
     WHERE pa.accrued_through = :day - 1
        OR (pa.accrued_through IS NULL AND pa.accrue_from = :day)
       FOR UPDATE OF pa SKIP LOCKED
    """
)
# Everything that is the same for a whole tariff version is computed once per version
# (``versions``), not once per account: at a million accounts, each per-row expression
# costs about a second.
_SETTLE = _sql(
    """
    CREATE TEMP TABLE settle ON COMMIT DROP AS
    WITH versions AS MATERIALIZED (
        SELECT c.biller_id, c.customer_class, v.id AS version, v.peak_price, v.flat_price,
               v.valley_price, v.fixed_monthly,
               tariff_band_start(v.band_period, :day) AS new_band_start,
               date_trunc('month', :day)::date AS month_first
          FROM (SELECT DISTINCT biller_id, customer_class FROM due) c
          JOIN tariffs_versions v ON v.id = tariff_version_for(c.biller_id, c.customer_class,
                                                              :day)
    ), placed AS MATERIALIZED (
        SELECT d.biller_id, d.account_no, d.ledger_account_id, d.balance, d.state, d.episode,
               d.notified, d.reminder_amount, d.total, d.peak, d.flat, d.valley, vs.version,
               vs.new_band_start, vs.month_first,
               CASE WHEN d.band_start = vs.new_band_start THEN d.band_usage ELSE 0 END
                   AS band_before,
               CASE WHEN d.month_start = vs.month_first THEN d.month_exact ELSE 0 END
                   AS month_before,
               CASE WHEN d.month_start = vs.month_first THEN 0 ELSE vs.fixed_monthly END
                   + CASE WHEN vs.peak_price IS NULL THEN 0
                          ELSE 100 * (vs.peak_price * d.peak + vs.flat_price * d.flat
                                      + vs.valley_price * d.valley) END AS exact_outside_blocks
          FROM due d
          JOIN versions vs ON vs.biller_id = d.biller_id AND vs.customer_class = d.customer_class
    ), blocks AS (
        -- tariff_energy_charge (tariffs/sql/calculator.sql) as one join and one aggregate
        -- over all the accounts: called once per account, the function costs a tenth of a
        -- millisecond each; the tests hold the two equal
        SELECT p.biller_id, p.account_no,
               sum(b.price * (least(p.band_before + p.total, b.upper_bound)
                              - greatest(p.band_before, b.lower_bound))) AS yuan
          FROM placed p
          JOIN tariffs_blocks b ON b.version_id = p.version
                              AND b.lower_bound < p.band_before + p.total
                              AND (b.upper_bound IS NULL OR b.upper_bound > p.band_before)
         GROUP BY p.biller_id, p.account_no
    ), priced AS (
        SELECT p.*, e.exact, tariff_accrual_posting(p.month_before, e.exact) AS posted
          FROM placed p
          LEFT JOIN blocks k ON k.biller_id = p.biller_id AND k.account_no = p.account_no
         CROSS JOIN LATERAL (
             SELECT p.exact_outside_blocks + 100 * coalesce(k.yuan, 0) AS exact) e
    ), moved AS (
        SELECT priced.*, priced.balance - priced.posted AS new_balance,
               prepaid_next_state(priced.state, priced.balance - priced.posted,
                                  priced.reminder_amount) AS new_state,
               CASE WHEN priced.state = 'NORMAL' THEN '{}'::text[] ELSE priced.notified END
                   AS kept_notices
          FROM priced
    )
    SELECT biller_id, account_no, ledger_account_id, version, total, peak, flat, valley,
           new_band_start, band_before + total AS new_band_usage,
           month_first AS new_month_start, month_before + exact AS new_month_exact, exact,
           posted, new_balance, state, new_state,
           episode + (state = 'NORMAL' AND new_state <> 'NORMAL')::int AS new_episode,
           notice, reminder_amount,
           CASE WHEN new_state = 'NORMAL' THEN '{}'::text[]
                WHEN notice IS NOT NULL THEN kept_notices || notice
                ELSE kept_notices END AS new_notified,
           -- the order of the accounts' lines in their biller's entry for the day
           row_number() OVER () AS line
      FROM moved
     CROSS JOIN LATERAL (
         SELECT CASE WHEN posted > 0 AND new_state IN ('LOW', 'ARREARS')
                          AND NOT new_state = ANY (kept_notices)
                     THEN new_state END AS notice) n
    """
)
_SKIPPED = _sql(
    """
    SELECT count(*) FROM prepaid_accounts pa
      JOIN billing_accounts ca ON ca.biller_id = pa.biller_id AND ca.account_no = pa.account_no
     WHERE (pa.accrued_through = :day - 1
            OR (pa.accrued_through IS NULL AND pa.accrue_from = :day))
       AND tariff_version_for(pa.biller_id, ca.customer_class, :day) IS NULL
       AND EXISTS (SELECT 1 FROM readings_daily_usage u WHERE u.biller_id = pa.biller_id
                      AND u.account_no = pa.account_no AND u.day = :day)
    """
)
# The day's entry of each biller, by the ledger's rule (``ledger_post_accrual``): the
# charges go as two arrays, one call per biller whatever its number of accounts.
_ENTRIES = _sql(
    """
    CREATE TEMP TABLE day_entries ON COMMIT DROP AS
    SELECT biller_id,
           ledger_post_accrual(
               biller_id, :day, :now,
               array_agg(ledger_account_id ORDER BY line) FILTER (WHERE posted <> 0),
               array_agg(posted ORDER BY line) FILTER (WHERE posted <> 0)) AS id
      FROM settle GROUP BY biller_id HAVING sum(posted) <> 0
    """
)
_ACCRUALS = _sql(
    """
    INSERT INTO prepaid_accruals (biller_id, account_no, day, tariff_version, usage, peak, flat,
                                  valley, band_usage, exact_charge, posted, balance_after,
                                  entry_id)
    SELECT s.biller_id, s.account_no, :day, s.version, s.total, s.peak, s.flat, s.valley,
           s.new_band_usage, s.exact, s.posted, s.new_balance,
           CASE WHEN s.posted <> 0 THEN e.id END
      FROM settle s LEFT JOIN day_entries e ON e.biller_id = s.biller_id
    """
)
_ACCOUNTS = _sql(
    """
    UPDATE prepaid_accounts pa
       SET balance = s.new_balance, state = s.new_state,
           state_since = CASE WHEN s.new_state = s.state THEN pa.state_since ELSE :now END,
           episode = s.new_episode, notified = s.new_notified, accrued_through = :day,
           outage_warned_at = CASE WHEN s.notice = 'ARREARS' THEN :now
                                   ELSE pa.outage_warned_at END,
           band_start = s.new_band_start, band_usage = s.new_band_usage,
           month_start = s.new_month_start, month_exact = s.new_month_exact
      FROM settle s
     WHERE pa.biller_id = s.biller_id AND pa.account_no = s.account_no
    """
)
_NOTICES = _sql(
    """
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT pa.biller_id, CASE s.notice WHEN 'LOW' THEN 'prepaid.low' ELSE 'prepaid.arrears' END,
           pa.account_no,
           prepaid_event(pa, jsonb_build_object('day', :day, 'charge', s.posted,
                                                'reminder', s.reminder_amount)),
           :now
      FROM settle s
      JOIN prepaid_accounts pa ON pa.biller_id = s.biller_id AND pa.account_no = s.account_no
     WHERE s.notice IS NOT NULL
    """
)


@dataclass(frozen=True, slots=True)
class DayAccrued:
    day: date
    accounts: int  # settled
    posted: int  # fen, all billers
    notices: int
    unpriced: int  # due, with usage, but no tariff in force: not settled


async def accrue_day(conn: AsyncConnection, day: date, now: datetime) -> DayAccrued:
    """Settle ``day`` for every prepaid account that is due; safe to repeat."""
    values = {"day": day, "now": now}
    # Set-based work over whole tables wants hash joins, but the statistics lag a day (the
    # last run moved every account's accrued_through after the last ANALYZE): the planner
    # expects one due account where there are a million and looks each up by index. At a
    # million accounts that made finding the due ones 15 s instead of 4.5 s. The caller's
    # setting comes back at the end.
    nestloop = await conn.scalar(text("SELECT current_setting('enable_nestloop')"))
    await conn.execute(text("SELECT set_config('enable_nestloop', 'off', true)"))
    # autovacuum never analyzes a temporary table: without ANALYZE the planner guesses a
    # handful of rows for the tables below too
    await conn.execute(_DUE, values)
    await conn.execute(text("ANALYZE due"))
    await conn.execute(_SETTLE, values)
    await conn.execute(text("ANALYZE settle"))
    await conn.execute(_ENTRIES, values)
    await conn.execute(_ACCRUALS, values)
    await conn.execute(_ACCOUNTS, values)
    notices = (await conn.execute(_NOTICES, values)).rowcount
    totals = (
        await conn.execute(text("SELECT count(*), coalesce(sum(posted), 0) FROM settle"))
    ).one()
    unpriced = (await conn.execute(_SKIPPED, values)).scalar_one()
    await conn.execute(text("DROP TABLE due, settle, day_entries"))
    await conn.execute(text("SELECT set_config('enable_nestloop', :was, true)"), {"was": nestloop})
    return DayAccrued(day, totals[0], int(totals[1]), notices, unpriced)


async def first_day_due(conn: AsyncConnection) -> date | None:
    """The earliest day some prepaid account still has to settle."""
    found: date | None = (
        await conn.execute(
            text("SELECT min(coalesce(accrued_through + 1, accrue_from)) FROM prepaid_accounts")
        )
    ).scalar_one()
    return found


async def accrue_through(
    engine: AsyncEngine,
    clock: Clock,
    last_day: date,
    *,
    on_day: Callable[[DayAccrued], None] | None = None,
) -> list[DayAccrued]:
    """Settle every day due up to ``last_day``, in order, one transaction per day."""
    async with engine.connect() as conn:
        day = await first_day_due(conn)
    done: list[DayAccrued] = []
    while day is not None and day <= last_day:
        async with engine.begin() as conn:
            accrued = await accrue_day(conn, day, clock.now())
        done.append(accrued)
        if on_day is not None:
            on_day(accrued)
        day += timedelta(days=1)
    return done
