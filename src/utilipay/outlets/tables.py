"""The front line's tables (channel-api.md §11, migration 0029): an agent channel's
``outlets`` with their float (``outlet_floats``), ``terminals`` (their secrets sealed),
``outlet_operators``; ``outlet_payments`` (which outlet, terminal and operator took a
payment, and where its amount stands in the float), ``float_deposits`` and
``outlet_shifts``.

Published to other areas (views of migration 0036; nothing else of these tables is theirs):

- ``outlets_payment_accounts``: each payment an outlet took, with the outlet's float
  account and where its amount stands in the float. For the ledger's checks (a
  terminal's payment is booked on the float) and the payments' checks of voids.
- ``outlets_standing_voids``: each payment's void that is not REFUSED, with its status.
  For the payments' check that a VOIDED payment's void is recorded.
- ``outlets_directory``: each outlet's id, channel, code, name, kind and region, for
  collection's reports (migration 0038).
- in Python, ``repository.outlet`` (vouchers: the outlet selling vouchers), ``floats``
  (the float taken, held, given back) and the SQL functions of ``sql/floats.sql``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Integer,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY

from utilipay.db import metadata
from utilipay.security.sealing import SealedText

outlets = Table(
    "outlets",
    metadata,
    Column("id", Integer, Identity(always=True), primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),  # shop | counter | collector
    Column("region", Text, nullable=False),
    Column("status", Text, nullable=False),  # ACTIVE | SUSPENDED
    Column("low_threshold", BigInteger, nullable=False),
    Column("low_since", DateTime(timezone=True)),  # the current low-float episode's start
    Column("owner_name", Text),
    Column("owner_phone", Text),
    Column("owner_email", Text),
    Column("float_account", Integer, ForeignKey("ledger_accounts.id"), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel_id", "code"),
)

# The float's running balance; the ledger account is the book (utilipay check: equal).
outlet_floats = Table(
    "outlet_floats",
    metadata,
    Column("outlet_id", Integer, ForeignKey("outlets.id"), primary_key=True),
    Column("balance", BigInteger, nullable=False),
    Column("held", BigInteger, nullable=False),
)

terminals = Table(
    "terminals",
    metadata,
    Column("id", Text, primary_key=True),
    Column("outlet_id", Integer, ForeignKey("outlets.id"), nullable=False, index=True),
    Column("type", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("secret", SealedText, nullable=False),
    Column("previous_secret", SealedText),
    Column("status", Text, nullable=False),  # ACTIVE | REVOKED
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

outlet_operators = Table(
    "outlet_operators",
    metadata,
    Column("outlet_id", Integer, ForeignKey("outlets.id"), primary_key=True),
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("status", Text, nullable=False),  # ACTIVE | DISABLED
    Column("created_at", DateTime(timezone=True), nullable=False),
)

outlet_payments = Table(
    "outlet_payments",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("payment_id", Text, primary_key=True),
    Column("outlet_id", Integer, ForeignKey("outlets.id"), nullable=False),
    Column("terminal_id", Text, ForeignKey("terminals.id"), nullable=False),
    Column("operator_code", Text),
    Column("tender", Text, nullable=False),  # cash | card | voucher
    Column("amount", BigInteger, nullable=False),
    Column("collected_at", DateTime(timezone=True)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("float_state", Text, nullable=False),  # HELD | TAKEN | RELEASED | RETURNED
    ForeignKeyConstraint(["biller_id", "payment_id"], ["payments.biller_id", "payments.id"]),
    ForeignKeyConstraint(
        ["outlet_id", "operator_code"], ["outlet_operators.outlet_id", "outlet_operators.code"]
    ),
)

float_deposits = Table(
    "float_deposits",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("outlet_id", Integer, ForeignKey("outlets.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("bank_reference", Text, nullable=False, unique=True),
    Column("source", Text, nullable=False),  # OPERATOR | STATEMENT
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Store-and-forward payments refused because their bills were paid meanwhile: what each
# collector must give back (migration 0031; GET /v1/outlet/refunds-due).
outlet_refunds_due = Table(
    "outlet_refunds_due",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("outlet_id", Integer, ForeignKey("outlets.id"), nullable=False),
    Column("channel_id", Integer, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("terminal_id", Text, ForeignKey("terminals.id"), nullable=False),
    Column("operator_code", Text),
    Column("biller_id", Integer, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("bill_nos", ARRAY(Text), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("tender", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("collected_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel_id", "order_id"),
)

outlet_shifts = Table(
    "outlet_shifts",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("outlet_id", Integer, nullable=False),
    Column("operator_code", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=False),
    Column("count", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("cash_expected", BigInteger, nullable=False),
    Column("cash_counted", BigInteger, nullable=False),
    Column("difference", BigInteger, nullable=False),
    Column("voids", Integer, nullable=False),
    ForeignKeyConstraint(
        ["outlet_id", "operator_code"], ["outlet_operators.outlet_id", "outlet_operators.code"]
    ),
)

# Each void asked for at a terminal (migration 0034): who, why, when, and how it ended.
outlet_voids = Table(
    "outlet_voids",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("payment_id", Text, primary_key=True),
    Column("requested_at", DateTime(timezone=True), primary_key=True),
    Column("outlet_id", Integer, ForeignKey("outlets.id"), nullable=False),
    Column("operator_code", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("tender", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", Text, nullable=False),  # PENDING | VOIDED | REFUSED
    Column("finished_at", DateTime(timezone=True)),
    Column("refusal", Text),
    ForeignKeyConstraint(
        ["biller_id", "payment_id"], ["outlet_payments.biller_id", "outlet_payments.payment_id"]
    ),
    ForeignKeyConstraint(
        ["outlet_id", "operator_code"], ["outlet_operators.outlet_id", "outlet_operators.code"]
    ),
)
