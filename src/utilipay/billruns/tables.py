"""The tables of bill runs from readings (migration 0012, its checks and indexes included)."""

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
    Numeric,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
)

from utilipay.db import metadata

PRICE = Numeric(12, 4)  # yuan per unit
UNITS = Numeric(16, 3)
EXACT = Numeric()  # fen, unrounded: never rounded by the column

billing_runs = Table(
    "billing_runs",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("period", Text, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("ran_at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("bills_issued", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("estimated", Integer, nullable=False),
    Column("already_billed", Integer, nullable=False),
    Column("nothing_due", Integer, nullable=False),
    Column("unpriced", Integer, nullable=False),
    Column("out_of_order", Integer, nullable=False),
    Column("awaiting_readings", Integer, nullable=False),
    Column("prepaid", Integer, nullable=False),
)

bill_usage = Table(
    "bill_usage",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("account_no", Text, primary_key=True),
    Column("period", Text, primary_key=True),
    Column("segment", SmallInteger, primary_key=True),
    Column("bill_no", Text),  # None: the period owed nothing
    Column("run_id", BigInteger, nullable=False),
    Column("tariff_version", BigInteger, nullable=False),
    Column("tariff_code", Text, nullable=False),
    Column("band_start", Date, nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("used_before", UNITS, nullable=False),
    Column("usage", UNITS, nullable=False),
    Column("peak", UNITS),
    Column("flat", UNITS),
    Column("valley", UNITS),
    Column("estimated", Boolean, nullable=False),
    Column("exact_fen", EXACT, nullable=False),
    UniqueConstraint("biller_id", "bill_no", "segment"),
    ForeignKeyConstraint(["biller_id", "bill_no"], ["bills.biller_id", "bills.bill_no"]),
)

bill_lines = Table(
    "bill_lines",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("bill_no", Text, primary_key=True),
    Column("line", SmallInteger, primary_key=True),
    Column("segment", SmallInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("register", Text),
    Column("band", SmallInteger),
    Column("lower_bound", UNITS),
    Column("upper_bound", UNITS),
    Column("from_units", UNITS),
    Column("to_units", UNITS),
    Column("units", UNITS),
    Column("price", PRICE),
    Column("exact_fen", EXACT, nullable=False),
    ForeignKeyConstraint(
        ["biller_id", "bill_no", "segment"],
        ["bill_usage.biller_id", "bill_usage.bill_no", "bill_usage.segment"],
    ),
)
