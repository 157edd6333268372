from __future__ import annotations

from sqlalchemy import (
    CHAR,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY

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
)
