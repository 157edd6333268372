from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Identity, Integer, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from utilipay.db import metadata

outbox_events = Table(
    "outbox_events",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("aggregate_id", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("dispatched_at", DateTime(timezone=True)),
)
