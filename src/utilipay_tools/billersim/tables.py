"""The simulator's tables, in a PostgreSQL schema of its own.

A utility's billing system is not part of the hub, so these tables are not in
the hub's metadata or migrations. Each schema name gets its own ``MetaData``:
several simulators (two utilities, or a test next to a demo) share one database
without sharing a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    Sequence,
    Table,
    Text,
    text,
)

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class OrderState(StrEnum):
    WRITTEN_OFF = "WRITTEN_OFF"
    REVERSED = "REVERSED"  # written off, then undone by a refund
    BLOCKED = "BLOCKED"  # refunded before any charge arrived: a late charge is refused


@dataclass(frozen=True, slots=True)
class SimTables:
    schema: str
    accounts: Table
    bills: Table
    orders: Table
    serials: Sequence  # numbers of billerserials


def check_schema_name(name: str) -> str:
    """``name`` if it is a plain lower-case identifier (it is written into DDL)."""
    if not _SCHEMA_NAME.fullmatch(name):
        raise ValueError(f"schema name {name!r} must be 1-63 of a-z, 0-9 and _, not starting 0-9")
    return name


@cache
def tables_for(schema: str) -> SimTables:
    metadata = MetaData(schema=check_schema_name(schema))
    accounts = Table(
        "accounts",
        metadata,
        Column("account_no", Text, primary_key=True),
        Column("holder_name", Text, nullable=False),
        Column("address", Text, nullable=False),
    )
    orders = Table(
        "orders",
        metadata,
        Column("orderno", Text, primary_key=True),
        Column("status", Text, nullable=False),
        Column("billerserial", Text, unique=True),
        Column("account_no", Text, ForeignKey(accounts.c.account_no)),
        Column("amount", BigInteger),
        Column("bill_nos", ARRAY(Text), nullable=False, server_default=text("'{}'")),
        Column("channel", Text),
        Column("paytime", DateTime(timezone=True)),
        Column("written_off_at", DateTime(timezone=True)),
        Column("reversed_at", DateTime(timezone=True)),
        CheckConstraint("amount >= 0", name="orders_amount_not_negative"),
        # Which columns each state has, so no code path can leave a half-made order.
        CheckConstraint(
            "(status = 'WRITTEN_OFF' AND billerserial IS NOT NULL AND amount IS NOT NULL"
            "  AND written_off_at IS NOT NULL AND reversed_at IS NULL)"
            " OR (status = 'REVERSED' AND billerserial IS NOT NULL AND amount IS NOT NULL"
            "  AND written_off_at IS NOT NULL AND reversed_at IS NOT NULL)"
            " OR (status = 'BLOCKED' AND billerserial IS NULL"
            "  AND written_off_at IS NULL AND reversed_at IS NOT NULL)",
            name="orders_state_columns",
        ),
        Index("orders_written_off_at", "written_off_at"),
        Index("orders_reversed_at", "reversed_at"),
    )
    bills = Table(
        "bills",
        metadata,
        Column("bill_no", Text, primary_key=True),
        Column("account_no", Text, ForeignKey(accounts.c.account_no), nullable=False),
        Column("period", Text, nullable=False),
        Column("amount", BigInteger, nullable=False),
        Column("late_fee", BigInteger, nullable=False),
        Column("due_date", Date, nullable=False),
        Column("paid_by", Text, ForeignKey(orders.c.orderno)),  # NULL: unpaid
        CheckConstraint("period ~ '^[0-9]{4}(0[1-9]|1[0-2])$'", name="bills_period_yyyymm"),
        CheckConstraint("amount >= 0 AND late_fee >= 0", name="bills_money_not_negative"),
        Index("bills_account_no", "account_no"),
        Index("bills_paid_by", "paid_by"),
    )
    serials = Sequence("billerserials", metadata=metadata)
    return SimTables(schema, accounts, bills, orders, serials)
