"""The stored monthly analyses (``collection_analyses``): one row per utility and month,
the PDF and the XLSX as made, by the worker on the month's first working day or by a
person on demand (a later one replaces it)."""

from __future__ import annotations

from sqlalchemy import (
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
