"""The payers' bindings of biller accounts (户号绑定).

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``bindings_live``: the bindings not deleted, with each one's own reminder choice
  (``remind_*``, NULL: inherited). For notify (the payers bound to an account, what each
  chose to be reminded of).
- in Python, ``service.live_binding`` (auto-pay, prepaid).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY

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
    # the payer's reminder choice at this binding (reminders.py); NULL: inherited
    Column("remind_kinds", ARRAY(Text)),
    Column("remind_days_before", Integer),
    Column("remind_means", ARRAY(Text)),
)
