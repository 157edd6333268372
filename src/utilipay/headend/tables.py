"""The tables of this package (migration 0010 creates them, with their checks and indexes).

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``headend_pending_commands``: the meter commands still being tried (and since when
  overdue), for metrics.
- ``headend_command_times``: each meter command's action, status, and when it was
  decided and executed, for collection's reports (migration 0038).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Table,
    Text,
)

from utilipay.db import metadata
from utilipay.security.sealing import SealedText

head_ends = Table(
    "head_ends",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("base_url", Text, nullable=False),
    Column("secret", SealedText, nullable=False),
    Column("previous_secret", SealedText),
    Column("connect_timeout_ms", Integer, nullable=False),
    Column("total_timeout_ms", Integer, nullable=False),
    Column("give_up_after_s", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The last sequence given to a meter's commands: its row lock orders concurrent decisions.
meter_sequences = Table(
    "meter_sequences",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("meter_id", Text, primary_key=True),
    Column("last_sequence", BigInteger, nullable=False),
)

meter_commands = Table(
    "meter_commands",
    metadata,
    Column("biller_id", Integer, ForeignKey("head_ends.biller_id"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("meter_id", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("decision_key", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("relay", Text),
    Column("detail", Text),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("executed_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("overdue_at", DateTime(timezone=True)),
    ForeignKeyConstraint(
        ["biller_id", "meter_id"], ["meter_sequences.biller_id", "meter_sequences.meter_id"]
    ),
)

meter_command_attempts = Table(
    "meter_command_attempts",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("command_id", Text, primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("url", Text, nullable=False),
    Column("status_code", Integer),
    Column("outcome", Text, nullable=False),
    Column("detail", Text),
    Column("duration_ms", Integer, nullable=False),
    ForeignKeyConstraint(
        ["biller_id", "command_id"], ["meter_commands.biller_id", "meter_commands.id"]
    ),
)
