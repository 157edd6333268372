"""The early-warning tables (migration 0042): a utility's ``warning_rules`` (a kind and its
parameters, kept as data its staff edit), ``warning_contacts`` (whom a warning is sent to:
staff users keep no address) and ``collection_warnings``, one row per episode of a rule
firing for one subject (the utility, a region, an account).

Nothing of these tables is published to other areas: the warning's message carries what
the notifications need (``collection.warning`` events).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from utilipay.db import metadata

warning_rules = Table(
    "warning_rules",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("params", JSONB, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", Text, nullable=False),
)

warning_contacts = Table(
    "warning_contacts",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("address", Text, primary_key=True),
    CheckConstraint("kind IN ('email', 'sms')", name="warning_contacts_kind"),
)

collection_warnings = Table(
    "collection_warnings",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("rule_id", BigInteger, nullable=False),
    Column("subject", Text, nullable=False),  # the utility's code, a region, CODE/account
    Column("figures", JSONB, nullable=False),  # what made it fire, when it began
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("cleared_at", DateTime(timezone=True)),  # the condition no longer holds
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledged_by", Text),
    Column("note", Text),
    ForeignKeyConstraint(["biller_id", "rule_id"], ["warning_rules.biller_id", "warning_rules.id"]),
    CheckConstraint(
        "(acknowledged_at IS NULL) = (acknowledged_by IS NULL)"
        " AND (acknowledged_at IS NULL) = (note IS NULL)",
        name="collection_warnings_ack",
    ),
    # One open episode per rule and subject: two passes at once make one warning.
    Index(
        "collection_warnings_one_open",
        "biller_id",
        "rule_id",
        "subject",
        unique=True,
        postgresql_where=text("cleared_at IS NULL"),
    ),
)
