"""A claim row per bill of a remote biller in a live hub payment (unique while live).

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``claims_held``: the claims still held. For auto-pay (a bill paid by another payment).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
)

from utilipay.db import metadata

bill_claims = Table(
    "bill_claims",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), nullable=False),
    Column("bill_no", Text, nullable=False),
    Column("payment_id", Text, nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("biller_id", "payment_id", "bill_no"),  # migration 0022
)
