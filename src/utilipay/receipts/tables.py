"""The receipts' table: ``receipt_keys``, the hub's key for receipts' verification codes,
sealed like the channels' secrets (security/sealing.py). One row, made on first use."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, SmallInteger, Table

from utilipay.db import metadata
from utilipay.security.sealing import SealedText

receipt_keys = Table(
    "receipt_keys",
    metadata,
    Column(
        "id", SmallInteger, CheckConstraint("id = 1", name="receipt_keys_one"), primary_key=True
    ),
    Column("secret", SealedText, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("id = 1", name="receipt_keys_one"),
)
