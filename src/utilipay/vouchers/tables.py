"""The vouchers' tables (channel-api.md §12, migration 0030): ``voucher_batches``, their
``vouchers`` (a PIN kept as its keyed hash only), ``voucher_keys`` (each utility's hash key,
sealed), ``voucher_redemptions`` (one per voucher, how its face value was applied),
``voucher_credits`` (what redemptions left on postpaid accounts for their next bills) and
the brute-force brake's ``voucher_failures`` and ``voucher_lockouts``.

Nothing here is published to other areas: the redemption reaches bills, payments, prepaid
balances and the ledger through their own SQL functions (``sql/redeem.sql``).
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
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

from utilipay.db import metadata
from utilipay.security.sealing import SealedText

voucher_keys = Table(
    "voucher_keys",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("key", SealedText, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

voucher_batches = Table(
    "voucher_batches",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", Integer, Identity(always=True), primary_key=True),
    Column("face", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("issued_by", Text, nullable=False),
)

vouchers = Table(
    "vouchers",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("batch_id", Integer, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("pin_hash", LargeBinary, nullable=False),
    Column("state", Text, nullable=False),  # ISSUED | ACTIVE | REDEEMED | EXPIRED | VOID
    Column("state_at", DateTime(timezone=True), nullable=False),
    Column("outlet_id", Integer, ForeignKey("outlets.id")),
    Column("reason", Text),
    UniqueConstraint("biller_id", "pin_hash", name="vouchers_pin"),
    ForeignKeyConstraint(
        ["biller_id", "batch_id"], ["voucher_batches.biller_id", "voucher_batches.id"]
    ),
)

voucher_redemptions = Table(
    "voucher_redemptions",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("batch_id", Integer, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("payment_id", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("face", BigInteger, nullable=False),
    Column("bills", JSONB, nullable=False),
    Column("prepaid", BigInteger, nullable=False),
    Column("credit", BigInteger, nullable=False),
    Column("redeemed_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(
        ["biller_id", "batch_id", "seq"],
        ["vouchers.biller_id", "vouchers.batch_id", "vouchers.seq"],
    ),
    ForeignKeyConstraint(["biller_id", "payment_id"], ["payments.biller_id", "payments.id"]),
    UniqueConstraint("biller_id", "payment_id"),
)

voucher_credits = Table(
    "voucher_credits",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("account_no", Text, primary_key=True),
    Column("balance", BigInteger, nullable=False),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("payer", Text, nullable=False),
    ForeignKeyConstraint(
        ["biller_id", "account_no"],
        ["customer_accounts.biller_id", "customer_accounts.account_no"],
    ),
)

voucher_failures = Table(
    "voucher_failures",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("key", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

voucher_lockouts = Table(
    "voucher_lockouts",
    metadata,
    Column("key", Text, primary_key=True),
    Column("until", DateTime(timezone=True), nullable=False),
)
