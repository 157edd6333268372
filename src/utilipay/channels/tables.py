"""The channels' tables: ``channels`` (their secrets sealed) and ``channel_nonces``.

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``channels_directory``: each channel's id, code, name, status and webhook URL, never
  its secrets. For recon, the payments' exceptions queue, statements and the ledger's
  checks.
- ``channels_kinds``: each channel's id, code, name and kind (wallet, bank, pos, agent),
  for collection's reports (migration 0038).
- in Python, ``repository``: ``by_code``, ``all_channels`` (settlement).
- ``channel_nonce_use`` (``sql/nonces.sql``): a nonce recorded at its first use, for
  ``pay_hosted``'s one database call (and the signed-request check's ``consume_nonce``).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Identity, Integer, Table, Text

from utilipay.db import metadata
from utilipay.security.sealing import SealedText

channels = Table(
    "channels",
    metadata,
    Column("id", Integer, Identity(always=True), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("secret", SealedText, nullable=False),
    Column("previous_secret", SealedText),
    Column("webhook_url", Text),
    Column("status", Text, nullable=False),
    Column(
        "rate_limit",
        Integer,
        comment="requests per second per server process; NULL: unlimited",
    ),
    Column("debit_url", Text),
    Column("kind", Text, nullable=False, server_default="wallet"),  # wallet|bank|pos|agent
    Column("cashier_url", Text),  # the payer pages' way to the channel's cashier (0048)
    Column(
        "frame_ancestors",
        Text,
        comment="origins that may frame the payer pages, space-separated; NULL: none",
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

channel_nonces = Table(
    "channel_nonces",
    metadata,
    Column("channel_id", Integer, primary_key=True),
    Column("nonce", Text, primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)
