"""The working-day calendar, one row a day (reference data: the same for every biller)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Table, Text

from utilipay.db import metadata

calendar_days = Table(
    "calendar_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("working", Boolean, nullable=False),
    Column("holiday", Text),
    Column("source", Text, nullable=False),
    Column("next_working", Date),
    Column("third_working", Date),
)
