"""The outbox: the platform's event log, written in the transaction of what it tells.

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``outbox_emit`` (for writing): every area's SQL appends its events through it (a
  simple view: a set-based statement costs what the table costs); Python through
  ``service.emit``.
- ``outbox_pending``: the events not dispatched yet, for metrics.
"""

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
