"""The payer pages' own tables: the payers' sessions, the pay orders the pages make and the
auto-pay / smart-payment sign-up requests they send to the channel's cashier.

Other areas' data (bindings, bills, payments, receipts) is read and written through their
services; nothing else reads these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    LargeBinary,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from utilipay.db import metadata

payer_sessions = Table(
    "payer_sessions",
    metadata,
    # SHA-256 of the cookie: a copy of the table opens no session
    Column("token_hash", LargeBinary, primary_key=True),
    Column("channel_code", Text, nullable=False),
    Column("payer", Text, nullable=False),
    Column("csrf_token", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

payer_orders = Table(
    "payer_orders",
    metadata,
    Column("id", Text, primary_key=True),  # the channel's order_id in POST /v1/payments
    Column("channel_code", Text, nullable=False),
    Column("payer", Text, nullable=False),
    Column("binding_id", Text, nullable=False),
    Column("biller_code", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("bill_nos", ARRAY(Text), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("amount > 0", name="payer_orders_amount_positive"),
    Index("payer_orders_by_payer", "channel_code", "payer", "created_at"),
)

payer_signups = Table(
    "payer_signups",
    metadata,
    Column("id", Text, primary_key=True),  # the channel's signup_id in POST /v1/mandates
    Column("channel_code", Text, nullable=False),
    Column("payer", Text, nullable=False),
    Column("binding_id", Text, nullable=False),
    Column("kind", Text, nullable=False),  # autopay | smart
    Column("biller_code", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("cap", BigInteger),  # autopay: the cap the payer agreed to (fen)
    Column("reminder", BigInteger),  # smart: the reminder amount (fen)
    Column("topup_amount", BigInteger),  # smart: the automatic top-up (fen)
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("kind IN ('autopay', 'smart')", name="payer_signups_kind"),
)
