"""The billers' tables: ``billers`` (the directory), ``biller_connections`` (how to reach a
remote biller, its keys sealed) and ``biller_calls`` (every protocol call).

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``billers_directory``: every biller's profile without its connection: code, name,
  category, region, group, mode, status, currency and the terms other areas apply
  (debit notice, prepaid reminder and cut grace, the pre-store reward, bill due days).
  For auto-pay's schedule and events, notify, prepaid's top-ups, accrual and cuts, recon,
  settlement's payouts, the ledger's checks and metrics.
- in Python, ``repository``: ``by_id``, ``by_code``, ``all_billers``; ``billing_terms`` and
  ``update_biller`` for the bill run's due days and currency.
"""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from utilipay.db import metadata
from utilipay.security.sealing import SealedText

billers = Table(
    "billers",
    metadata,
    Column("id", Integer, Identity(always=True), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("parent_id", Integer, ForeignKey("billers.id")),
    Column("account_rule", Text, nullable=False),
    Column("account_hint", Text, nullable=False),
    Column("mode", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("min_payment", BigInteger, nullable=False),
    Column("max_payment", BigInteger, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("mandate_default_cap", BigInteger, nullable=False),
    Column("mandate_max_cap", BigInteger, nullable=False),
    Column("mandate_poll_s", Integer, nullable=False),
    Column("debit_notice_s", Integer, nullable=False),
    Column("prepaid_reminder", BigInteger, nullable=False),
    Column("prepaid_cut_grace_s", Integer, nullable=False),
    Column("prepaid_reward_min", BigInteger, nullable=False),
    Column("prepaid_reward_points", Integer, nullable=False),
    Column("bill_due_days", Integer, nullable=False),  # a run-made bill is due after (0012)
    Column("verification", Text, nullable=False),  # how a binding is verified (0045)
)


biller_connections = Table(
    "biller_connections",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("base_url", Text, nullable=False),
    Column("sign_type", Text, nullable=False),
    Column("key", SealedText, nullable=False),
    Column("previous_key", SealedText),
    Column("platform", Text, nullable=False),
    Column("connect_timeout_ms", Integer, nullable=False),
    Column("total_timeout_ms", Integer, nullable=False),
    Column("confirm_schedule", ARRAY(Integer), nullable=False),
    Column("resolution_deadline_s", Integer, nullable=False),
    Column("max_refund_attempts", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column(
        "endpoints",
        JSONB,
        nullable=False,
        comment="URL per transaction code where it is not <base_url>/<trancode>",
    ),
)

biller_calls = Table(
    "biller_calls",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("payment_id", Text),
    Column("trancode", Text, nullable=False),
    Column("serial", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("duration_ms", Integer, nullable=False),
)
