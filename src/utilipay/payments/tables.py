"""The payments' tables: ``payments`` and the exceptions queue ``payment_exceptions``.

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``payments_orders``: every payment, without its resolver's machinery. For notify,
  auto-pay, prepaid's statements, recon, settlement, statements, the ledger's checks
  and metrics (the PROCESSING ones per biller).
- ``payments_open_exceptions``: the queue's open items, for metrics.
- in Python, ``rollups.days`` and ``rollups.unknown_outcomes`` (the console's dashboard).
- in Python, ``minutes.traffic`` (the anomaly monitoring of metrics and the dashboard).
- in Python, ``repository.by_id`` and ``resolve_now``, ``exceptions.queued_for`` and
  ``queue_break`` (recon).
"""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Integer,
    LargeBinary,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from utilipay.db import metadata

payments = Table(
    "payments",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("order_id", Text, nullable=False),
    Column("request_hash", LargeBinary, nullable=False),
    Column("payer", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("bill_nos", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False),
    Column("failure_code", Text),
    Column("receipt_no", Text),
    Column("biller_serial", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    # resolving an unknown outcome at a remote biller (payments/resolution.py)
    Column("resolution", Text),
    Column("next_check_at", DateTime(timezone=True)),
    Column("resolve_by", DateTime(timezone=True)),
    Column("check_attempts", Integer, nullable=False),
    Column("refund_attempts", Integer, nullable=False),
    Column("last_outcome", Text),
    Column("reversed_at", DateTime(timezone=True)),
    Column("purpose", Text, nullable=False),
)

# The channel's order ids, across billers (channel-api.md §4): each payment's, claimed in the
# transaction that creates it (migration 0022; db/distribution.py: local).
payment_orders = Table(
    "payment_orders",
    metadata,
    Column("channel_id", Integer, primary_key=True),
    Column("order_id", Text, primary_key=True),
    Column("biller_id", Integer, nullable=False),
    Column("payment_id", Text, nullable=False),
)

# The work queue for people (payments/exceptions.py): payments whose reversal could not be
# completed, and the breaks reconciliation leaves for a person (migration 0021).
payment_exceptions = Table(
    "payment_exceptions",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("biller_id", Integer, ForeignKey("billers.id")),
    Column("payment_id", Text),
    Column("reason", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolved_by", Text),
    Column("resolution", Text),
    Column("note", Text),
    Column("kind", Text, nullable=False),
    Column("channel_code", Text),
    Column("order_id", Text),
    Column("run_id", BigInteger),
    Column("item_no", BigInteger),
    Column("evidence", JSONB),
    Column("reference", Text),
    ForeignKeyConstraint(
        ["run_id", "item_no"], ["recon_corrections.run_id", "recon_corrections.item_no"]
    ),
)

# Payments counted per business day, utility, channel and status (migration 0028): rows
# added by the triggers of payments/sql/rollups.sql, a key's rows merged by the fold.
payment_rollups = Table(
    "payment_rollups",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("business_date", Date, nullable=False),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("status", Text, nullable=False),
    Column("payments", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("folded", Boolean, nullable=False),
)

# Payments counted per minute of their creation, utility, channel and status, with their
# latency (migration 0037): rows added by the triggers of payments/sql/minutes.sql, a key's
# rows merged by the fold, minutes past the retention dropped by it (payments/minutes.py).
payment_minutes = Table(
    "payment_minutes",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("minute", DateTime(timezone=True), nullable=False),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("status", Text, nullable=False),
    Column("payments", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("latency_ms", BigInteger, nullable=False),
    Column("within_500ms", BigInteger, nullable=False),
    Column("within_1s", BigInteger, nullable=False),
    Column("within_2s", BigInteger, nullable=False),
    Column("within_5s", BigInteger, nullable=False),
    Column("within_10s", BigInteger, nullable=False),
    Column("within_30s", BigInteger, nullable=False),
    Column("folded", Boolean, nullable=False),
)
