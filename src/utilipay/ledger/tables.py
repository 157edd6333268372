"""The ledger's tables: the chart of accounts, journal entries and their postings.

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``ledger_chart``: the chart of accounts, each account's kind and owner. Billers and
  channels find their payable and receivable through it (``accounts.chart``),
  settlement the billers' payables.
- ``ledger_movements``: every posting with its entry's kind, payment and time. For
  notify (a prepaid balance as of an instant) and settlement (a day's prepaid accruals).
- entries and postings are the ledger's to write: every area posts through
  ``ledger_post`` and its flows' rules (``sql/post.sql``, ``flows.py``).
"""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Integer,
    Table,
    Text,
    UniqueConstraint,
)

from utilipay.db import metadata

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Integer, Identity(always=True), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("biller_id", Integer, ForeignKey("billers.id")),
    Column("channel_id", Integer, ForeignKey("channels.id")),
    Column("currency", CHAR(3), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # the key of a prepaid balance account with its biller (prepaid_accounts' foreign key)
    UniqueConstraint("biller_id", "id"),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("payment_id", Text),
    Column("memo", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

postings = Table(
    "postings",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("entry_id", BigInteger, primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("account_id", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    ForeignKeyConstraint(
        ["biller_id", "entry_id"], ["journal_entries.biller_id", "journal_entries.id"]
    ),
)
