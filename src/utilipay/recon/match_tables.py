"""Tables of reconciliation runs, their records, corrections and refunds (migration 0014).

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``recon_refunds``: the refunds opened to channels. For settlement (a refund lowers its
  day's net).
- ``recon_open_corrections``: the corrections not applied yet, with their run's end,
  for metrics.
- ``recon_reconciled_days`` (migration 0034): each run's business day, channel, utility
  and end. For the payments' voids (a reconciled day's payment is no longer voided).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
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

recon_runs = Table(
    "recon_runs",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("business_date", Date, nullable=False),
    Column("channel_code", Text),
    Column("biller_code", Text),
    Column("cutoff_s", Integer, nullable=False),
    Column("actor", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("records", BigInteger, nullable=False),
    Column("counts", JSONB, nullable=False),
    Column("sources", JSONB, nullable=False),
)

recon_items = Table(
    "recon_items",
    metadata,
    Column("run_id", BigInteger, ForeignKey("recon_runs.id"), primary_key=True),
    Column("item_no", BigInteger, primary_key=True),
    Column("class", Text, nullable=False),
    Column("action", Text),
    Column("channel_code", Text),
    Column("order_id", Text),
    Column("biller_id", Integer),
    Column("payment_id", Text),
    Column("hub_status", Text),
    Column("hub_amount", BigInteger),
    Column("hub_at", DateTime(timezone=True)),
    Column("channel_lines", Integer, nullable=False),
    Column("channel_amount", BigInteger),
    Column("channel_at", DateTime(timezone=True)),
    Column("channel_line", Text),
    Column("utility_lines", Integer, nullable=False),
    Column("utility_status", Text),
    Column("utility_amount", BigInteger),
    Column("utility_at", DateTime(timezone=True)),
    Column("utility_line", Text),
    Column("carried_to", Date),
)

recon_corrections = Table(
    "recon_corrections",
    metadata,
    Column("run_id", BigInteger, primary_key=True),
    Column("item_no", BigInteger, primary_key=True),
    Column("action", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("class", Text, nullable=False),
    Column("biller_id", Integer),
    Column("payment_id", Text),
    Column("channel_code", Text),
    Column("order_id", Text, nullable=False),
    Column("evidence", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("outcome", Text),
    Column("applied_at", DateTime(timezone=True)),
    Column("applied_by", Text),
    Column("reason", Text),
    # the write-ahead claim of an apply (recon/corrections.py): counted, fenced, expiring
    Column("attempts", Integer, nullable=False),
    Column("claimed_by", Text),
    Column("claimed_until", DateTime(timezone=True)),
    Column("last_attempt", Text),
    ForeignKeyConstraint(["run_id", "item_no"], ["recon_items.run_id", "recon_items.item_no"]),
)

# A business day's hub payments kept as a Parquet file, under the fingerprint of its rows
# (recon/payments_file.py; migration 0052).
recon_payment_files = Table(
    "recon_payment_files",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("fingerprint", Text, primary_key=True),
    Column("rows", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("kept_at", DateTime(timezone=True), nullable=False),
)

refunds = Table(
    "refunds",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("payment_id", Text),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("order_id", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("business_date", Date, nullable=False),
)
