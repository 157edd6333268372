"""Every table of the hub, for tools that need the whole schema (migrations, drift test)."""

from utilipay.audit.tables import audit_log
from utilipay.billers.tables import biller_calls, biller_connections, billers
from utilipay.billing.run_tables import bill_lines, bill_usage, billing_runs
from utilipay.billing.tables import bills, customer_accounts
from utilipay.bindings.tables import bindings
from utilipay.channels.tables import channel_nonces, channels
from utilipay.db import metadata
from utilipay.headend import tables as headend_tables  # whole modules: all their tables
from utilipay.ledger.tables import journal_entries, ledger_accounts, postings
from utilipay.mandates.tables import (
    calendar_days,
    debit_attempts,
    debits,
    mandates,
    observed_bills,
)
from utilipay.notify.tables import bill_reminders, notification_attempts, notifications
from utilipay.outbox.tables import outbox_events
from utilipay.payments.tables import bill_claims, payment_exceptions, payment_orders, payments
from utilipay.prepaid import tables as prepaid_tables
from utilipay.readings import tables as readings_tables
from utilipay.recon import match_tables as recon_match_tables
from utilipay.recon import statement_tables as recon_statement_tables
from utilipay.settlement import tables as settlement_tables
from utilipay.tariffs import tables as tariffs_tables
from utilipay.tokens.tables import api_tokens
from utilipay.webhooks.tables import webhook_attempts, webhook_deliveries

__all__ = [
    "api_tokens",
    "audit_log",
    "bill_claims",
    "bill_lines",
    "bill_reminders",
    "bill_usage",
    "biller_calls",
    "biller_connections",
    "billers",
    "billing_runs",
    "bills",
    "bindings",
    "calendar_days",
    "channel_nonces",
    "channels",
    "customer_accounts",
    "debit_attempts",
    "debits",
    "headend_tables",
    "journal_entries",
    "ledger_accounts",
    "mandates",
    "metadata",
    "notification_attempts",
    "notifications",
    "observed_bills",
    "outbox_events",
    "payment_exceptions",
    "payment_orders",
    "payments",
    "postings",
    "prepaid_tables",
    "readings_tables",
    "recon_match_tables",
    "recon_statement_tables",
    "settlement_tables",
    "tariffs_tables",
    "webhook_attempts",
    "webhook_deliveries",
]
