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

from utilipay.db import metadata

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
)
