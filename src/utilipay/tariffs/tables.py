"""The tables of this package (migration 0008 creates them with their checks; their triggers
are in ``sql/guards.sql``).

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``tariffs_versions`` and ``tariffs_blocks``: the prices of each version and its bands.
  The bill run and prepaid's accrual price usage with them (and with the SQL functions
  of ``sql/calculator.sql``, ``tariff_version_for``…).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
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

tariffs = Table(
    "tariffs",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

tariff_versions = Table(
    "tariff_versions",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("tariff_code", Text, ForeignKey("tariffs.code"), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("band_period", Text, nullable=False),
    Column("fixed_monthly", BigInteger, nullable=False),  # fen per month
    Column("peak_price", PRICE),  # all three or none: time-of-use
    Column("flat_price", PRICE),
    Column("valley_price", PRICE),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("loaded_by", Text, nullable=False),
    UniqueConstraint("tariff_code", "effective_from"),
)

tariff_blocks = Table(
    "tariff_blocks",
    metadata,
    Column("version_id", BigInteger, ForeignKey("tariff_versions.id"), primary_key=True),
    Column("band", SmallInteger, primary_key=True),
    Column("lower_bound", UNITS, nullable=False),
    Column("upper_bound", UNITS),  # None: no limit
    Column("price", PRICE, nullable=False),
)

tariff_assignments = Table(
    "tariff_assignments",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("customer_class", Text, primary_key=True),
    Column("effective_from", Date, primary_key=True),
    Column("tariff_code", Text, ForeignKey("tariffs.code"), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("assigned_by", Text, nullable=False),
)
