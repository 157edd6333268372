"""Hosted postpaid billing from readings: monthly bill runs and what each bill was made of.

- ``billers.bill_due_days``: a bill made by a run is due this many days after the
  run's date (a bill import carries its own due date).
- ``billing_runs``: every run of a biller's period, as of a date: who ran it, the
  due date it gave, and what became of the accounts (issued, already billed,
  nothing due, unpriced, out of order, awaiting readings, prepaid).
- ``bill_usage``: an account's billed usage of a period per tariff version in force
  (one segment, or one per version when prices changed mid-month): the band
  period it counts in, the usage earlier in that band period (from earlier bills,
  for annual bands), the registers, whether any of it was estimated, the exact
  charge in fen before the bill's one rounding, and the bill — none when the
  period owed nothing, whose usage still counts towards the year's bands.
- ``bill_lines``: the bill's detail, line by line: each register at its price,
  each band at its price, the fixed monthly charge.
- ``daily_usage_by_day``: a run reads one biller's month of daily usage.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = """
ALTER TABLE billers
    ADD COLUMN bill_due_days integer NOT NULL DEFAULT 15
        CHECK (bill_due_days BETWEEN 1 AND 90);

CREATE TABLE billing_runs (
    biller_id integer NOT NULL REFERENCES billers (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    period text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    as_of date NOT NULL,
    due_date date NOT NULL,
    ran_at timestamptz NOT NULL,
    actor text NOT NULL,
    bills_issued integer NOT NULL DEFAULT 0,
    amount bigint NOT NULL DEFAULT 0,  -- fen, the bills issued
    estimated integer NOT NULL DEFAULT 0,  -- bills issued on usage partly estimated
    already_billed integer NOT NULL DEFAULT 0,
    nothing_due integer NOT NULL DEFAULT 0,
    unpriced integer NOT NULL DEFAULT 0,
    out_of_order integer NOT NULL DEFAULT 0,
    awaiting_readings integer NOT NULL DEFAULT 0,  -- days of the period unread
    prepaid integer NOT NULL DEFAULT 0,
    PRIMARY KEY (biller_id, id)
);

CREATE TABLE bill_usage (
    biller_id integer NOT NULL,
    account_no text NOT NULL,
    period text NOT NULL,
    segment smallint NOT NULL CHECK (segment >= 1),
    bill_no text,  -- NULL: the period owed nothing (its usage still counts in annual bands)
    run_id bigint NOT NULL,
    tariff_version bigint NOT NULL,
    tariff_code text NOT NULL,
    band_start date NOT NULL,
    first_day date NOT NULL,
    last_day date NOT NULL,
    used_before numeric(16, 3) NOT NULL CHECK (used_before >= 0),
    usage numeric(16, 3) NOT NULL CHECK (usage >= 0),
    peak numeric(16, 3),  -- NULL: the meter reads a total only
    flat numeric(16, 3),
    valley numeric(16, 3),
    estimated boolean NOT NULL,
    exact_fen numeric NOT NULL,  -- unrounded: the bill rounds the sum of its segments once
    PRIMARY KEY (biller_id, account_no, period, segment),
    UNIQUE (biller_id, bill_no, segment),
    -- the bill only: the account, run and tariff version come from rows the same
    -- statement has just read, and a check per row would cost a run a lookup per account
    FOREIGN KEY (biller_id, bill_no) REFERENCES bills,
    CHECK (first_day <= last_day)
);
-- the usage billed earlier in a band period (annual bands), per account
CREATE INDEX bill_usage_by_band ON bill_usage (biller_id, band_start, account_no);

CREATE TABLE bill_lines (
    biller_id integer NOT NULL,
    bill_no text NOT NULL,
    line smallint NOT NULL CHECK (line >= 1),
    segment smallint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('register', 'band', 'fixed')),
    register text CHECK (register IN ('peak', 'flat', 'valley')),
    band smallint,
    lower_bound numeric(16, 3),
    upper_bound numeric(16, 3),
    from_units numeric(16, 3),  -- this usage's share of the band, in the band period
    to_units numeric(16, 3),
    units numeric(16, 3),
    price numeric(12, 4),  -- yuan per unit
    exact_fen numeric NOT NULL,
    PRIMARY KEY (biller_id, bill_no, line),
    FOREIGN KEY (biller_id, bill_no, segment) REFERENCES bill_usage (biller_id, bill_no, segment),
    CHECK ((kind = 'register') = (register IS NOT NULL)),
    CHECK ((kind = 'band') = (band IS NOT NULL))
);

CREATE INDEX daily_usage_by_day ON daily_usage (biller_id, day);
"""


def upgrade() -> None:
    op.execute(TABLES)


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX daily_usage_by_day;
        DROP TABLE bill_lines, bill_usage, billing_runs;
        ALTER TABLE billers DROP COLUMN bill_due_days;
        """
    )
