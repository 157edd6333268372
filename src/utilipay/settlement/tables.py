"""The tables of settlement (migration 0015).

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``settlement_days`` and ``settlement_branches``: each settlement and its branches'
  figures. For the ledger's checks.
- ``settlement_open_payouts``: the payouts the bank has not confirmed, for metrics.
- ``settlement_outlet_commissions`` (migration 0033): what each outlet earned in a day,
  its payments and their amount. For the outlets' figures.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
)

from utilipay.db import metadata


def _fee_rules(name: str, owner: str, owners: str) -> Table:
    return Table(
        name,
        metadata,
        Column(owner, Integer, ForeignKey(f"{owners}.id"), primary_key=True),
        Column("effective_from", Date, primary_key=True),
        Column("rate_bp", Numeric(8, 3), nullable=False),
        Column("minimum", BigInteger, nullable=False),
        Column("maximum", BigInteger),
        Column("fixed", BigInteger, nullable=False),
        Column("actor", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


biller_fee_rules = _fee_rules("biller_fee_rules", "biller_id", "billers")
channel_fee_rules = _fee_rules("channel_fee_rules", "channel_id", "channels")

# What a utility pays the outlets that collect for it, per outlet kind (migration 0033).
outlet_commission_rules = Table(
    "outlet_commission_rules",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("outlet_kind", Text, primary_key=True),
    Column("effective_from", Date, primary_key=True),
    Column("rate_bp", Numeric(8, 3), nullable=False),
    Column("minimum", BigInteger, nullable=False),
    Column("maximum", BigInteger),
    Column("fixed", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

settlement_accounts = Table(
    "settlement_accounts",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("account_no", Text, nullable=False),
    Column("account_name", Text, nullable=False),
    Column("bank", Text, nullable=False),
    Column("mode", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

settlements = Table(
    "settlements",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("business_date", Date, primary_key=True),
    Column("gross", BigInteger, nullable=False),
    Column("refunds", BigInteger, nullable=False),
    Column("fees", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
    Column("channel_fees", BigInteger, nullable=False),
    Column("payments", Integer, nullable=False),
    Column("commission", BigInteger, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("account_name", Text, nullable=False),
    Column("bank", Text, nullable=False),
    Column("entry_id", BigInteger),
    Column("actor", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

settlement_lines = Table(
    "settlement_lines",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("business_date", Date, primary_key=True),
    Column("branch_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("bills", BigInteger, nullable=False),
    Column("bill_count", Integer, nullable=False),
    Column("accruals", BigInteger, nullable=False),
    Column("vouchers", BigInteger, nullable=False),
    Column("topups", BigInteger, nullable=False),
    Column("topup_count", Integer, nullable=False),
    Column("reversed", BigInteger, nullable=False),
    Column("reversed_count", Integer, nullable=False),
    Column("refunds", BigInteger, nullable=False),
    Column("fees", BigInteger, nullable=False),
    Column("channel_fees", BigInteger, nullable=False),
    Column("gross", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
    Column("commission", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["biller_id", "business_date"], ["settlements.biller_id", "settlements.business_date"]
    ),
)

payouts = Table(
    "payouts",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("business_date", Date, primary_key=True),
    Column("reference", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("matched_at", DateTime(timezone=True)),
    Column("import_id", BigInteger),
    Column("line_no", Integer),
    Column("note", Text),
    ForeignKeyConstraint(
        ["biller_id", "business_date"], ["settlements.biller_id", "settlements.business_date"]
    ),
    UniqueConstraint("biller_id", "reference"),
)

# A branch's day is settled once, to one payee, whatever its group's mode becomes: keyed by
# the branch (migration 0022), written with the payee's settlement lines.
settlement_branch_days = Table(
    "settlement_branch_days",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),  # the branch
    Column("business_date", Date, primary_key=True),
    Column("payee_id", Integer, ForeignKey("billers.id"), nullable=False),
)

# Each outlet's commission in a payee's day, credited to its float by the settlement entry.
settlement_commissions = Table(
    "settlement_commissions",
    metadata,
    Column("biller_id", Integer, primary_key=True),  # the payee
    Column("business_date", Date, primary_key=True),
    Column("outlet_id", Integer, ForeignKey("outlets.id"), primary_key=True),
    Column("payments", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("commission", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["biller_id", "business_date"], ["settlements.biller_id", "settlements.business_date"]
    ),
)
