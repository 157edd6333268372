"""The tables of this package (migration 0009 creates them, with their checks and indexes).

- ``reading_imports``: one row per imported file or API request: what, its hash, the
  counts, the warnings (with their line numbers), who and when.
- ``meters``: a meter on a customer account; its registers roll over at ``10 ** digits``.
- ``meter_reads``: cumulative register reads, as the meter showed them.
- ``meter_intervals``: consumption per interval (Green Button), already in the meter's unit.
- ``meter_usage``: the usage of each read-to-read span (or interval) spread over the local
  days it covers, keyed by the instant that closes the span (a new read replaces exactly
  the spans it touches), with the part of the day each share covers.
- ``daily_usage``: the sum of ``meter_usage`` per account, day and register, for the days
  that every meter of the account in service covered completely — the contract with
  prepaid accrual and the postpaid bill run: a row is the whole day's usage.

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``readings_meters``: which meter is on which account, from when until when. For the
  bill run (the days in service) and prepaid (enrolment needs a meter).
- ``readings_daily_usage``: each account's usage per local day and register. For the
  bill run and prepaid's accrual.
- in Python, ``repository.installed_meters`` (the head-end).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Integer,
    Interval,
    Numeric,
    SmallInteger,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from utilipay.db import metadata

QUANTITY = Numeric(14, 3)  # kWh or m³, to the Wh or the litre
REGISTER_VALUE = Numeric(15, 3)  # up to 12 digits before the point

reading_imports = Table(
    "reading_imports",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("counts", JSONB, nullable=False),
    Column("warnings", JSONB, nullable=False),
    Column("actor", Text, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

meters = Table(
    "meters",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("meter_id", Text, primary_key=True),
    Column("account_no", Text, nullable=False),
    Column("service", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("registers", ARRAY(Text), nullable=False),
    Column("digits", SmallInteger, nullable=False),
    Column("multiplier", Numeric(10, 3), nullable=False),
    Column("installed_at", DateTime(timezone=True), nullable=False),
    Column("removed_at", DateTime(timezone=True)),
    Column("import_id", BigInteger, ForeignKey("reading_imports.id"), nullable=False),
    ForeignKeyConstraint(
        ["biller_id", "account_no"],
        ["customer_accounts.biller_id", "customer_accounts.account_no"],
    ),
)

meter_reads = Table(
    "meter_reads",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("meter_id", Text, primary_key=True),
    Column("register", Text, primary_key=True),
    Column("read_at", DateTime(timezone=True), primary_key=True),
    Column("value", REGISTER_VALUE, nullable=False),
    Column("estimated", Boolean, nullable=False),
    Column("import_id", BigInteger, ForeignKey("reading_imports.id"), nullable=False),
    ForeignKeyConstraint(["biller_id", "meter_id"], ["meters.biller_id", "meters.meter_id"]),
)

meter_intervals = Table(
    "meter_intervals",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("meter_id", Text, primary_key=True),
    Column("register", Text, primary_key=True),
    Column("end_at", DateTime(timezone=True), primary_key=True),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("quantity", QUANTITY, nullable=False),
    Column("estimated", Boolean, nullable=False),
    Column("import_id", BigInteger, ForeignKey("reading_imports.id"), nullable=False),
    ForeignKeyConstraint(["biller_id", "meter_id"], ["meters.biller_id", "meters.meter_id"]),
)

meter_usage = Table(
    "meter_usage",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("meter_id", Text, primary_key=True),
    Column("register", Text, primary_key=True),
    Column("span_end", DateTime(timezone=True), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("quantity", QUANTITY, nullable=False),
    Column("estimated", Boolean, nullable=False),
    Column("covered", Interval, nullable=False),
    ForeignKeyConstraint(["biller_id", "meter_id"], ["meters.biller_id", "meters.meter_id"]),
)

daily_usage = Table(
    "daily_usage",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("account_no", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("register", Text, primary_key=True),
    Column("quantity", QUANTITY, nullable=False),
    Column("estimated", Boolean, nullable=False),
    ForeignKeyConstraint(
        ["biller_id", "account_no"],
        ["customer_accounts.biller_id", "customer_accounts.account_no"],
    ),
)
