"""Auto-pay's tables: mandates, the bills polls observe, debits and their attempts.

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``autopay_mandates``, ``autopay_debits`` and ``autopay_observed_bills``: for notify
  (a debit's message: the mandate's cap and sources, the bill's due date).
- ``autopay_mandate_dates`` (when each mandate was signed and cancelled) and
  ``autopay_debit_outcomes`` (each finished debit's status, reason, amount and when):
  for collection's reports (migration 0038).
- ``autopay_open_debits``: the debits still to send, for metrics.

``enrolments`` (migration 0047) are a payer's smart-payment sign-ups of a prepaid account
(channel-api.md §13); nothing of them is published.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from utilipay.db import metadata

mandates = Table(
    "mandates",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("payer", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("cap", BigInteger, nullable=False),
    Column("topup_amount", BigInteger),
    Column("funding_sources", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("next_poll_at", DateTime(timezone=True)),
    Column("baseline_at", DateTime(timezone=True)),
    # the payer pages' sign-up request the channel authorised (migration 0049), if any
    Column("signup_id", Text),
)

enrolments = Table(
    "enrolments",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("payer", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("mandate_id", Text),  # the automatic top-up's, while it has one
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("biller_id", "account_no", "channel_id", "payer"),
    ForeignKeyConstraint(["biller_id", "mandate_id"], ["mandates.biller_id", "mandates.id"]),
)

observed_bills = Table(
    "observed_bills",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("bill_no", Text, primary_key=True),
    Column("account_no", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("late_fee", BigInteger, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("before_mandate", Boolean, nullable=False),
)

debits = Table(
    "debits",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("mandate_id", Text, nullable=False),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("payer", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("bill_nos", ARRAY(Text), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("planned_at", DateTime(timezone=True), nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("source_index", Integer, nullable=False),
    Column("rounds", Integer, nullable=False),
    Column("pending_source", Text),
    Column("channel_txn_id", Text),
    Column("payment_id", Text),
    Column("episode", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

debit_attempts = Table(
    "debit_attempts",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("debit_id", Text, primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("funding_source", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("result", Text, nullable=False),
    Column("channel_txn_id", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["biller_id", "debit_id"], ["debits.biller_id", "debits.id"]),
)
