"""Meters and their readings; usage per account, day and register.

- ``reading_imports``: every imported file or API request, its hash, counts and warnings.
- ``meters``: on a customer account; registers ``{total}`` or ``{peak,flat,valley}``.
- ``meter_reads``: cumulative register reads; ``meter_intervals``: consumption per
  interval (Green Button). A meter has one or the other.
- ``meter_usage``: each span's usage spread over the local days it covers, keyed by the
  instant that closes the span, with how much of the day the share covers;
  ``daily_usage``: their sum per account, day and register, for the days every meter of
  the account has covered completely (so a row there is the day's whole usage).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE reading_imports (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('meters', 'reads', 'intervals')),
    source text NOT NULL,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    counts jsonb NOT NULL,
    warnings jsonb NOT NULL,
    actor text NOT NULL,
    imported_at timestamptz NOT NULL
);

CREATE TABLE meters (
    biller_id integer NOT NULL REFERENCES billers (id),
    meter_id text NOT NULL,
    account_no text NOT NULL,
    service text NOT NULL CHECK (service IN ('electricity', 'water', 'gas')),
    unit text NOT NULL CHECK (unit IN ('kWh', 'm3')),
    registers text[] NOT NULL
        CHECK (registers IN ('{total}', '{peak,flat,valley}')),
    digits smallint NOT NULL CHECK (digits BETWEEN 4 AND 12),
    multiplier numeric(10, 3) NOT NULL DEFAULT 1 CHECK (multiplier > 0),
    installed_at timestamptz NOT NULL,
    removed_at timestamptz CHECK (removed_at > installed_at),
    import_id bigint NOT NULL REFERENCES reading_imports (id),
    PRIMARY KEY (biller_id, meter_id),
    FOREIGN KEY (biller_id, account_no) REFERENCES customer_accounts,
    CHECK ((service = 'electricity') = (unit = 'kWh'))
);
CREATE INDEX meters_by_account ON meters (biller_id, account_no);

CREATE TABLE meter_reads (
    biller_id integer NOT NULL,
    meter_id text NOT NULL,
    register text NOT NULL,
    read_at timestamptz NOT NULL,
    value numeric(15, 3) NOT NULL CHECK (value >= 0),
    estimated boolean NOT NULL,
    import_id bigint NOT NULL REFERENCES reading_imports (id),
    PRIMARY KEY (biller_id, meter_id, register, read_at),
    FOREIGN KEY (biller_id, meter_id) REFERENCES meters
);

CREATE TABLE meter_intervals (
    biller_id integer NOT NULL,
    meter_id text NOT NULL,
    register text NOT NULL,
    end_at timestamptz NOT NULL,
    start_at timestamptz NOT NULL,
    quantity numeric(14, 3) NOT NULL CHECK (quantity >= 0),
    estimated boolean NOT NULL,
    import_id bigint NOT NULL REFERENCES reading_imports (id),
    PRIMARY KEY (biller_id, meter_id, register, end_at),
    FOREIGN KEY (biller_id, meter_id) REFERENCES meters,
    CHECK (start_at < end_at)
);

CREATE TABLE meter_usage (
    biller_id integer NOT NULL,
    meter_id text NOT NULL,
    register text NOT NULL,
    span_end timestamptz NOT NULL,
    day date NOT NULL,
    quantity numeric(14, 3) NOT NULL CHECK (quantity >= 0),
    estimated boolean NOT NULL,
    covered interval NOT NULL CHECK (covered > interval '0' AND covered <= interval '24 hours'),
    PRIMARY KEY (biller_id, meter_id, register, span_end, day),
    FOREIGN KEY (biller_id, meter_id) REFERENCES meters
);
-- daily_usage is re-summed per (meter, day) after an import
CREATE INDEX meter_usage_by_day ON meter_usage (biller_id, meter_id, day);

CREATE TABLE daily_usage (
    biller_id integer NOT NULL,
    account_no text NOT NULL,
    day date NOT NULL,
    register text NOT NULL,
    quantity numeric(14, 3) NOT NULL CHECK (quantity >= 0),
    estimated boolean NOT NULL,
    PRIMARY KEY (biller_id, account_no, day, register),
    FOREIGN KEY (biller_id, account_no) REFERENCES customer_accounts
);
"""


def upgrade() -> None:
    op.execute(TABLES)


def downgrade() -> None:
    op.execute(
        "DROP TABLE daily_usage, meter_usage, meter_intervals, meter_reads, meters, reading_imports"
    )
