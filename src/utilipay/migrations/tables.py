"""The migrations' own table: the record of the repeatable SQL applied (``repeatable.py``).

Alembic keeps ``alembic_version`` itself; this one is the hub's, so it is declared here.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Table, Text

from utilipay.db import metadata

schema_repeatables = Table(
    "schema_repeatables",
    metadata,
    Column("path", Text, primary_key=True),  # area/name.sql
    Column("sha256", Text, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)
