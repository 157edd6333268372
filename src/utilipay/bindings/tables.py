"""The payers' bindings of biller accounts (户号绑定).

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``bindings_live``: the bindings not deleted. For notify (the payers bound to an
  account).
- in Python, ``service.live_binding`` (auto-pay, prepaid).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, Table, Text

from utilipay.db import metadata

bindings = Table(
    "bindings",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("payer", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("holder", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
)
