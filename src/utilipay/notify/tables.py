"""The notifications' tables: a message per event and recipient, its attempts, the
bill reminders announced.

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``notify_pending``: the messages still pending, for metrics.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from utilipay.db import metadata

notifications = Table(
    "notifications",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("event_id", BigInteger, nullable=False),
    Column("template", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("recipient_kind", Text, nullable=False),
    Column("channel_id", Integer, ForeignKey("channels.id")),
    Column("address", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("params", JSONB, nullable=False),
    Column("subject", JSONB, nullable=False),
    Column("text", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
)

notification_attempts = Table(
    "notification_attempts",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("notification_id", Text, primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("provider", Text, nullable=False),
    Column("destination", Text, nullable=False),
    Column("acknowledged", Boolean, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    ForeignKeyConstraint(
        ["biller_id", "notification_id"],
        ["notifications.biller_id", "notifications.id"],
    ),
)

bill_reminders = Table(
    "bill_reminders",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("bill_no", Text, primary_key=True),
    Column("days_before", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["biller_id", "bill_no"], ["bills.biller_id", "bills.bill_no"]),
)
