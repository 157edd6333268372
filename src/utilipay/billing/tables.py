from __future__ import annotations

from sqlalchemy import (
    CHAR,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Table,
    Text,
)

from utilipay.db import metadata

customer_accounts = Table(
    "customer_accounts",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("account_no", Text, primary_key=True),
    Column("holder_name", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("phone", Text),
    Column("email", Text),
    Column("language", Text, nullable=False),
    Column("customer_class", Text, nullable=False),
)

bills = Table(
    "bills",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("bill_no", Text, primary_key=True),
    Column("account_no", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("late_fee", BigInteger, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("payment_id", Text),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("paid_at", DateTime(timezone=True)),
    ForeignKeyConstraint(
        ["biller_id", "account_no"],
        ["customer_accounts.biller_id", "customer_accounts.account_no"],
    ),
)
