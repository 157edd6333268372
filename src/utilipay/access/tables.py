from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Identity, LargeBinary, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY

from utilipay.db import metadata

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("name", Text, nullable=False),  # the actor the audit log records
    Column("token_sha256", LargeBinary, nullable=False),  # the token itself is never stored
    Column("scopes", ARRAY(Text), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", Text),
    Column("last_used_at", DateTime(timezone=True)),  # to the minute, see service.USE_MARK
)
