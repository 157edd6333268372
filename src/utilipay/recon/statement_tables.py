"""The imported statements' tables (migration 0013 creates them, with their checks and
indexes): ``statement_imports``, one per file, and ``statement_lines``, its records in
the normalized form every statement parser produces (shared contract 1 of issue 6).

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``recon_bank_debits``: the debit lines of the bank's statements, with the hub's
  account they are from. For settlement (payouts are matched to them).
- ``recon_bank_credits`` (migration 0032): the credit lines of the bank's statements, with
  the bank's own reference and the remittance information. For outlets (float deposits).
"""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

from utilipay.db import metadata

statement_imports = Table(
    "statement_imports",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("party", Text, nullable=False),
    Column("party_code", Text, nullable=False),
    Column("business_date", Date),
    Column("file_name", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("total_amount", BigInteger, nullable=False),
    Column("summary", JSONB, nullable=False),
    Column("actor", Text, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    # the Parquet copy of the lines kept at import (recon/columnar.py; migration 0052)
    Column("columnar_sha256", Text),
    UniqueConstraint("party", "party_code", "sha256"),
)

statement_lines = Table(
    "statement_lines",
    metadata,
    Column("import_id", BigInteger, ForeignKey("statement_imports.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("order_id", Text),
    Column("party_ref", Text),
    Column("account_no", Text),
    Column("amount", BigInteger, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("status", Text, nullable=False),
    Column("channel_code", Text),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("counterparty", Text),
    Column("bank_ref", Text),  # the bank's own reference of the entry (bank statements)
    Column("remittance", Text),  # the payer's remittance information (附言)
)
