from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Identity, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from utilipay.db import metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("object_type", Text, nullable=False),
    Column("object_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("details", JSONB, nullable=False),
    Column(
        "before", JSONB(none_as_null=True)
    ),  # the values an action changed, as they were (migration 0019)
    Column("after", JSONB(none_as_null=True)),  # and as it left them
    Column("at", DateTime(timezone=True), nullable=False),
)
