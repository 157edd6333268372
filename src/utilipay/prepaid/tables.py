"""The tables of prepaid smart payment (migration 0011).

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``prepaid_balances``: each prepaid account's balance, state, episode, cuts and
  ledger account. For auto-pay (top-ups), notify, the bill run and the ledger's checks.
- ``prepaid_daily_charges``: each account's settled days. For the ledger's checks.
- ``prepaid_states``: each account's state, since when, and when this episode's outage
  warning went out, for collection's reports (migration 0038).
- in Python, ``service.find`` and ``service.supply_state`` (the head-end).
- in SQL, ``prepaid_accounts_locked`` and ``prepaid_credit`` (``sql/top_up.sql``): a
  voucher redeemed to a prepaid balance (``voucher_redeem_many``).
"""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from utilipay.db import metadata

prepaid_accounts = Table(
    "prepaid_accounts",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("account_no", Text, primary_key=True),
    Column("ledger_account_id", Integer, nullable=False),
    Column("balance", BigInteger, nullable=False),  # fen, a cache of the ledger's
    Column("currency", CHAR(3), nullable=False),
    Column("state", Text, nullable=False),
    Column("state_since", DateTime(timezone=True), nullable=False),
    Column("episode", Integer, nullable=False),
    Column("notified", ARRAY(Text), nullable=False),
    Column("cuts", Integer, nullable=False),
    Column("reminder", BigInteger),
    Column("accrue_from", Date, nullable=False),
    Column("accrued_through", Date),
    Column("band_start", Date),
    Column("band_usage", Numeric(16, 3), nullable=False),
    Column("month_start", Date),
    Column("month_exact", Numeric(20, 6), nullable=False),
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    Column("outage_warned_at", DateTime(timezone=True)),  # this episode's, if 'ARREARS' notified
    ForeignKeyConstraint(
        ["biller_id", "account_no"],
        ["customer_accounts.biller_id", "customer_accounts.account_no"],
    ),
    # the balance account is the biller's own: one per biller is one everywhere (0022)
    ForeignKeyConstraint(
        ["biller_id", "ledger_account_id"], ["ledger_accounts.biller_id", "ledger_accounts.id"]
    ),
)

prepaid_accruals = Table(
    "prepaid_accruals",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("account_no", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("tariff_version", BigInteger, nullable=False),
    Column("usage", Numeric(14, 3), nullable=False),
    Column("peak", Numeric(14, 3), nullable=False),
    Column("flat", Numeric(14, 3), nullable=False),
    Column("valley", Numeric(14, 3), nullable=False),
    Column("band_usage", Numeric(16, 3), nullable=False),
    Column("exact_charge", Numeric(20, 6), nullable=False),
    Column("posted", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("entry_id", BigInteger),
)

prepaid_rewards = Table(
    "prepaid_rewards",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("account_no", Text, primary_key=True),
    Column("month", Date, primary_key=True),
    Column("payment_id", Text, nullable=False),
    Column("points", Integer, nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
)

prepaid_statements = Table(
    "prepaid_statements",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("account_no", Text, primary_key=True),
    Column("month", Date, primary_key=True),
    Column("opening_balance", BigInteger, nullable=False),
    Column("top_ups", BigInteger, nullable=False),
    Column("charges", BigInteger, nullable=False),
    Column("closing_balance", BigInteger, nullable=False),
    Column("usage", Numeric(16, 3), nullable=False),
    Column("days", Integer, nullable=False),
    Column("points", Integer, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)
