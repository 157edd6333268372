"""The webhooks' tables: a delivery per event and channel, and its attempts.

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``webhooks_pending``: the deliveries still pending, for metrics.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Integer,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from utilipay.db import metadata

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("channel_id", Integer, ForeignKey("channels.id"), primary_key=True),
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("object_id", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("channel_id", Integer, primary_key=True),
    Column("delivery_id", BigInteger, primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("url", Text, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    ForeignKeyConstraint(
        ["channel_id", "delivery_id"],
        ["webhook_deliveries.channel_id", "webhook_deliveries.id"],
    ),
)
