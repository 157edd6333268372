"""The payers' bindings of biller accounts (户号绑定).

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``bindings_live``: the bindings not deleted, with each one's own reminder choice
  (``remind_*``, NULL: inherited). For notify (the payers bound to an account, what each
  chose to be reminded of).
- in Python, ``service.live_binding`` and ``service.verified_binding`` (auto-pay, prepaid,
  statements: what needs a verified binding, channel-api.md §13).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, Integer, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA

from utilipay.db import metadata
from utilipay.security.sealing import SealedText

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
    Column("verified_at", DateTime(timezone=True)),  # the payer passed a verification (0045)
)

# An SMS code sent to verify a binding (channel-api.md §13): only its HMAC under a key of
# its own, the key sealed outside the database, so a copy of the database cannot try the
# million codes. Kept once closed: the rate limits count the challenges sent.
binding_challenges = Table(
    "binding_challenges",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("payer", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    # SHA-256 of the phone, only to count its challenges: the phone itself is the account's
    Column("phone_hash", BYTEA, nullable=False),
    Column("code_key", SealedText, nullable=False),
    Column("code_hash", BYTEA, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("tries", Integer, nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_why", Text),  # USED | REPLACED | TOO_MANY_TRIES
)

# A wrong holder name given (the brake against guessing names, §13).
binding_failures = Table(
    "binding_failures",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("payer", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
