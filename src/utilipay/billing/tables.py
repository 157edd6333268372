"""The hosted billers' tables: ``customer_accounts`` and their ``bills``.

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``billing_accounts``: each customer account's holder, class and contacts. For
  notify, prepaid (enrolment, accrual) and the bill run.
- ``billing_bills``: every hosted bill. For auto-pay, notify's reminders and params,
  the bill run, the ledger's checks and ``pay_hosted`` (which locks a payment's bills
  through it).
- ``billing_write_off`` (``sql/write_off.sql``): the bills a hosted payment paid, written
  off to it in its transaction.
- ``billing_issue`` (for writing): the bill run issues its bills through it; only unpaid
  bills with no payment get in (``WITH CHECK OPTION``).
- ``bill_late_fee(biller_id, bill_no, on)`` (``sql/late_fees.sql``, migration 0039): a
  hosted bill's late fee on a business date, computed by the utility's rule; every amount
  due is ``amount + bill_late_fee(…)``, never ``amount + late_fee``;
  ``bill_late_fees(biller_id, on)`` (migration 0043) is the same for every bill of a
  utility, set-based, for a query that joins many bills on ``bill_no``.
- in Python, ``repository``: ``account``, ``bill_by_no``, ``unpaid_bills``… (readings
  opens accounts through ``insert_accounts``).
"""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Integer,
    Numeric,
    Table,
    Text,
)

from utilipay.db import metadata

customer_accounts = Table(
    "customer_accounts",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("account_no", Text, primary_key=True),
    Column("holder_name", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("phone", Text),
    Column("email", Text),
    Column("language", Text, nullable=False),
    Column("customer_class", Text, nullable=False),
)

bills = Table(
    "bills",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("bill_no", Text, primary_key=True),
    Column("account_no", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("late_fee", BigInteger, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("payment_id", Text),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("paid_at", DateTime(timezone=True)),
    ForeignKeyConstraint(
        ["biller_id", "account_no"],
        ["customer_accounts.biller_id", "customer_accounts.account_no"],
    ),
)

# Late fees (migration 0039): the utilities' rules, effective-dated, and the waivers.
late_fee_rules = Table(
    "late_fee_rules",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("rule_id", Integer, Identity(always=True), primary_key=True),
    Column("customer_class", Text),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date),
    Column("daily_per_mille", Numeric(8, 4), nullable=False),
    Column("grace_days", Integer, nullable=False),
    Column("basis", Text, nullable=False),
    Column("cap_fen", BigInteger),
    Column("cap_percent", Numeric(7, 4)),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

late_fee_waivers = Table(
    "late_fee_waivers",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("bill_no", Text, primary_key=True),
    Column("waiver_id", Integer, Identity(always=True), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["biller_id", "bill_no"], ["bills.biller_id", "bills.bill_no"]),
)
