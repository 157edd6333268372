"""Collection management's tables (migration 0038): ``collection_days``, each utility's
figures per business day (one row per metric, channel, outlet and key),
``collection_closed_days``, the business days whose rows are made (``days.close``), and
(migration 0041) ``collection_analyses``, the monthly analyses as made: one row per utility
and month, the PDF and the XLSX, by the worker on the month's first working day or by a
person on demand (a later one replaces it).

Nothing here is published to other areas: they call ``service.build_report``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Table,
    Text,
)

from utilipay.db import metadata

collection_days = Table(
    "collection_days",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("business_date", Date, primary_key=True),
    Column("metric", Text, primary_key=True),
    Column("channel_id", Integer, primary_key=True),  # 0: not by channel
    Column("outlet_id", Integer, primary_key=True),  # 0: not at an outlet
    Column("key", Text, primary_key=True),  # '' none; a channel-mix class, an age bucket…
    Column("n", BigInteger, nullable=False),
    Column("bills", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("seconds", BigInteger, nullable=False),
)

collection_closed_days = Table(
    "collection_closed_days",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("closed_at", DateTime(timezone=True), nullable=False),
)

collection_analyses = Table(
    "collection_analyses",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("month", Date, primary_key=True),  # the month's first day
    Column("pdf", LargeBinary, nullable=False),
    Column("xlsx", LargeBinary, nullable=False),
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("made_by", Text, nullable=False),  # "worker", a console user, "cli"
    CheckConstraint("extract(day FROM month) = 1", name="collection_analyses_first_day"),
)
