"""Auto-pay (自动缴费): mandates, debits, the working-day calendar, payer contacts.

- ``calendar_days``: the mainland China working-day calendar, one row a day,
  from the ``chinese-calendar`` package (adjusted working weekends included)
  for the years it covers; later years are filled Monday-Friday by
  ``autopay.calendar`` and marked so until the package knows them. Each day
  carries the first working day on or after it and the third, so the 3-day
  window of a bill is a lookup, not a loop.
- ``mandates``: at most one ACTIVE per biller account (channel-api.md §8).
- ``debits`` / ``debit_attempts``: what the hub asks a channel to take (§9),
  one autopay debit per bill, every attempt on every funding source logged.
- ``observed_bills``: a remote biller's bills as the hub's polls found them
  (a mandate's first poll records the bills due before signing, never debited).
- customer accounts gain optional phone, email and language; channels a debit
  URL; billers their mandate caps and the poll interval.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
from alembic import op
from sqlalchemy import Boolean, Date, Text, column, table

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE calendar_days (
    day date PRIMARY KEY,
    working boolean NOT NULL,
    holiday text,
    source text NOT NULL CHECK (source IN ('chinese-calendar', 'weekdays')),
    next_working date,
    third_working date
);

ALTER TABLE customer_accounts
    ADD COLUMN phone text CHECK (phone ~ '^\\+?[0-9]{6,20}$'),
    ADD COLUMN email text CHECK (email ~ '^[^@\\s]+@[^@\\s]+$'),
    ADD COLUMN language text NOT NULL DEFAULT 'zh-CN' CHECK (language IN ('zh-CN', 'en'));

ALTER TABLE channels ADD COLUMN debit_url text;

ALTER TABLE billers
    ADD COLUMN mandate_default_cap bigint NOT NULL DEFAULT 100000 CHECK (mandate_default_cap > 0),
    ADD COLUMN mandate_max_cap bigint NOT NULL DEFAULT 500000,
    ADD COLUMN mandate_poll_s integer NOT NULL DEFAULT 86400 CHECK (mandate_poll_s > 0),
    -- how long after a bill is issued its debit is sent, so the pre-debit notice comes first
    ADD COLUMN debit_notice_s integer NOT NULL DEFAULT 7200 CHECK (debit_notice_s >= 0),
    ADD CONSTRAINT billers_caps CHECK (mandate_max_cap >= mandate_default_cap);

CREATE TABLE mandates (
    biller_id integer NOT NULL REFERENCES billers (id),
    id text NOT NULL,
    channel_id integer NOT NULL REFERENCES channels (id),
    payer text NOT NULL,
    account_no text NOT NULL,
    cap bigint NOT NULL CHECK (cap > 0),
    funding_sources jsonb NOT NULL CHECK (jsonb_typeof(funding_sources) = 'array'
                                          AND jsonb_array_length(funding_sources) BETWEEN 1 AND 5),
    status text NOT NULL CHECK (status IN ('ACTIVE', 'CANCELLED')),
    signed_at timestamptz NOT NULL,
    cancelled_at timestamptz,
    updated_at timestamptz NOT NULL,
    next_poll_at timestamptz,  -- remote billers: when to ask for new bills
    baseline_at timestamptz,   -- remote billers: when the bills due at signing were recorded
    PRIMARY KEY (biller_id, id),
    CHECK ((status = 'CANCELLED') = (cancelled_at IS NOT NULL))
);
CREATE UNIQUE INDEX mandates_id ON mandates (id);
CREATE UNIQUE INDEX mandates_one_active ON mandates (biller_id, account_no)
    WHERE status = 'ACTIVE';
CREATE INDEX mandates_by_payer ON mandates (channel_id, payer);
CREATE INDEX mandates_due_poll ON mandates (next_poll_at) WHERE status = 'ACTIVE';

CREATE TABLE observed_bills (
    biller_id integer NOT NULL REFERENCES billers (id),
    bill_no text NOT NULL,
    account_no text NOT NULL,
    period text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    late_fee bigint NOT NULL CHECK (late_fee >= 0),
    due_date date NOT NULL,
    first_seen_at timestamptz NOT NULL,
    before_mandate boolean NOT NULL,
    PRIMARY KEY (biller_id, bill_no)
);

CREATE SEQUENCE debit_seq;

CREATE TABLE debits (
    biller_id integer NOT NULL REFERENCES billers (id),
    id text NOT NULL,
    mandate_id text NOT NULL,
    channel_id integer NOT NULL REFERENCES channels (id),
    payer text NOT NULL,
    account_no text NOT NULL,
    purpose text NOT NULL CHECK (purpose IN ('autopay', 'prepaid_topup')),
    bill_nos text[] NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    status text NOT NULL
        CHECK (status IN ('SCHEDULED', 'SENT', 'SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED')),
    reason text,
    issued_at timestamptz NOT NULL,
    planned_at timestamptz NOT NULL,
    deadline timestamptz NOT NULL,
    next_attempt_at timestamptz,
    source_index integer NOT NULL DEFAULT 0,
    rounds integer NOT NULL DEFAULT 0,
    pending_source text,  -- a source whose answer is not known yet (PROCESSING or unanswered)
    channel_txn_id text,
    payment_id text,
    created_at timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (biller_id, id),
    CHECK ((status IN ('SCHEDULED', 'SENT')) = (next_attempt_at IS NOT NULL)),
    CHECK ((status IN ('SCHEDULED', 'SENT')) = (finished_at IS NULL))
);
CREATE UNIQUE INDEX debits_id ON debits (id);
-- One auto-pay debit per bill, whatever happens to its mandate.
CREATE UNIQUE INDEX debits_one_per_bill ON debits (biller_id, (bill_nos[1]))
    WHERE purpose = 'autopay';
CREATE INDEX debits_due ON debits (next_attempt_at) WHERE status IN ('SCHEDULED', 'SENT');
CREATE INDEX debits_by_mandate ON debits (biller_id, mandate_id);

CREATE TABLE debit_attempts (
    biller_id integer NOT NULL,
    debit_id text NOT NULL,
    attempt integer NOT NULL,
    funding_source text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('debit', 'query')),
    result text NOT NULL,
    channel_txn_id text,
    at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, debit_id, attempt),
    FOREIGN KEY (biller_id, debit_id) REFERENCES debits
);
"""

# The window rules of ``autopay/window.py``, in SQL for set-based scheduling. All three
# are simple STABLE SQL functions, so the planner inlines them into the scheduling query.
WINDOW = """
CREATE FUNCTION autopay_next_open(t timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN c.working AND (t AT TIME ZONE 'Asia/Shanghai')::time < time '22:00'
        THEN greatest(t, (c.day + time '07:00') AT TIME ZONE 'Asia/Shanghai')
        ELSE (n.next_working + time '07:00') AT TIME ZONE 'Asia/Shanghai' END
      FROM calendar_days c JOIN calendar_days n ON n.day = c.day + 1
     WHERE c.day = (t AT TIME ZONE 'Asia/Shanghai')::date
$$;

CREATE FUNCTION autopay_deadline(issued_at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT (c.third_working + time '22:00') AT TIME ZONE 'Asia/Shanghai'
      FROM calendar_days c
     WHERE c.day = (issued_at AT TIME ZONE 'Asia/Shanghai')::date
                   + CASE WHEN (issued_at AT TIME ZONE 'Asia/Shanghai')::time < time '22:00'
                          THEN 0 ELSE 1 END
$$;

CREATE FUNCTION autopay_window(issued_at timestamptz, notice_s integer,
                               OUT planned_at timestamptz, OUT deadline timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN w.noticed < w.closes THEN w.noticed
                ELSE autopay_next_open(issued_at) END,
           w.closes
      FROM (SELECT autopay_next_open(issued_at + make_interval(secs => notice_s)) AS noticed,
                   autopay_deadline(issued_at) AS closes) w
$$;
"""

# The outbox payload of a debit's events (debit.scheduled, .succeeded, .failed, .skipped).
DEBIT_EVENT = """
CREATE FUNCTION shanghai_iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS') || '+08:00'
$$;

CREATE FUNCTION debit_event(d debits) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'debit_id', d.id, 'mandate_id', d.mandate_id,
        'biller', (SELECT code FROM billers WHERE id = d.biller_id),
        'channel_id', d.channel_id, 'payer', d.payer, 'account_no', d.account_no,
        'purpose', d.purpose, 'bill_nos', to_jsonb(d.bill_nos), 'amount', d.amount,
        'status', d.status, 'reason', d.reason, 'payment_id', d.payment_id,
        'planned_at', shanghai_iso(d.planned_at), 'deadline', shanghai_iso(d.deadline))
$$;
"""

CALENDAR_DERIVED = """
UPDATE calendar_days c SET
    next_working = (SELECT min(w.day) FROM calendar_days w WHERE w.working AND w.day >= c.day),
    third_working = (SELECT w.day FROM calendar_days w WHERE w.working AND w.day >= c.day
                      ORDER BY w.day OFFSET 2 LIMIT 1);
"""


def _calendar_rows() -> list[dict[str, object]]:
    first, last = date(2004, 1, 1), date(2026, 12, 31)
    rows = []
    day = first
    while day <= last:
        holiday, name = chinese_calendar.get_holiday_detail(day)
        rows.append(
            {
                "day": day,
                "working": not holiday,
                "holiday": name if holiday and name else None,
                "source": "chinese-calendar",
            }
        )
        day += timedelta(days=1)
    return rows


def upgrade() -> None:
    op.execute(TABLES)
    days = table(
        "calendar_days",
        column("day", Date),
        column("working", Boolean),
        column("holiday", Text),
        column("source", Text),
    )
    op.bulk_insert(days, _calendar_rows())
    op.execute(CALENDAR_DERIVED)
    op.execute(WINDOW)
    op.execute(DEBIT_EVENT)


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION debit_event(debits);
        DROP FUNCTION shanghai_iso(timestamptz);
        DROP FUNCTION autopay_window(timestamptz, integer);
        DROP FUNCTION autopay_deadline(timestamptz);
        DROP FUNCTION autopay_next_open(timestamptz);
        DROP TABLE debit_attempts, debits, observed_bills, mandates, calendar_days;
        DROP SEQUENCE debit_seq;
        ALTER TABLE billers DROP CONSTRAINT billers_caps, DROP COLUMN mandate_default_cap,
            DROP COLUMN mandate_max_cap, DROP COLUMN mandate_poll_s, DROP COLUMN debit_notice_s;
        ALTER TABLE channels DROP COLUMN debit_url;
        ALTER TABLE customer_accounts DROP COLUMN phone, DROP COLUMN email, DROP COLUMN language;
        """
    )
