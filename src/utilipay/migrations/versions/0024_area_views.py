"""Each area publishes the views other areas read it through (and the two they write through).

An area owns its tables: no other area names them. What another area needs of them is a
view the owner defines here and documents in its ``tables.py`` (named with the owner's
prefix). A view over one table with a WHERE is inlined by the planner, so a reader keeps
the owner's indexes (the backlog views keep ``GET /metrics`` on the partial indexes of
open work).

Two views are for writing (simple views, which PostgreSQL updates in place, with no cost
per row): ``outbox_emit``, the platform's event log every area appends to in its own
transaction, and ``billing_issue``, the unpaid bills a bill run issues.

Revision ID: 0024
Revises: 0022
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0022"
branch_labels = None
depends_on = None

VIEWS = {
    # billers
    "billers_directory": """
        SELECT id, code, name, category, region, parent_id, mode, status, currency,
               debit_notice_s, prepaid_reminder, prepaid_cut_grace_s, bill_due_days
          FROM billers""",
    # channels
    "channels_directory": "SELECT id, code, name, status, webhook_url FROM channels",
    # ledger
    "ledger_chart": "SELECT id, code, kind, biller_id, channel_id, currency FROM ledger_accounts",
    "ledger_movements": """
        SELECT p.biller_id, p.entry_id, p.line_no, p.account_id, p.amount, e.kind,
               e.payment_id, e.created_at
          FROM postings p
          JOIN journal_entries e ON e.biller_id = p.biller_id AND e.id = p.entry_id""",
    # billing
    "billing_accounts": """
        SELECT biller_id, account_no, holder_name, customer_class, phone, email, language
          FROM customer_accounts""",
    "billing_bills": """
        SELECT biller_id, bill_no, account_no, period, amount, late_fee, currency, due_date,
               status, payment_id, issued_at, paid_at
          FROM bills""",
    "billing_issue": """
        SELECT biller_id, bill_no, account_no, period, amount, late_fee, currency, due_date,
               status, issued_at
          FROM bills WHERE status = 'UNPAID' AND payment_id IS NULL AND paid_at IS NULL
          WITH CHECK OPTION""",
    # tariffs
    "tariffs_versions": """
        SELECT id, tariff_code, effective_from, band_period, fixed_monthly, peak_price,
               flat_price, valley_price
          FROM tariff_versions""",
    "tariffs_blocks": "SELECT version_id, band, lower_bound, upper_bound, price FROM tariff_blocks",
    # readings
    "readings_meters": """
        SELECT biller_id, meter_id, account_no, service, installed_at, removed_at FROM meters""",
    "readings_daily_usage": """
        SELECT biller_id, account_no, day, register, quantity, estimated FROM daily_usage""",
    # bindings
    "bindings_live": """
        SELECT biller_id, id, channel_id, payer, account_no, holder, created_at
          FROM bindings WHERE deleted_at IS NULL""",
    # claims
    "claims_held": """
        SELECT biller_id, bill_no, payment_id, claimed_at FROM bill_claims
         WHERE released_at IS NULL""",
    # payments
    "payments_orders": """
        SELECT biller_id, id, channel_id, order_id, payer, account_no, amount, currency,
               bill_nos, purpose, status, failure_code, receipt_no, biller_serial, created_at,
               finished_at, reversed_at
          FROM payments""",
    "payments_open_exceptions": """
        SELECT id, kind, biller_id, payment_id, opened_at FROM payment_exceptions
         WHERE resolved_at IS NULL""",
    # prepaid
    "prepaid_balances": """
        SELECT biller_id, account_no, ledger_account_id, balance, state, episode, cuts,
               accrue_from, accrued_through
          FROM prepaid_accounts""",
    "prepaid_daily_charges": """
        SELECT biller_id, account_no, day, usage, posted, balance_after, entry_id
          FROM prepaid_accruals""",
    # settlement
    "settlement_days": """
        SELECT biller_id, business_date, gross, refunds, fees, net, entry_id FROM settlements""",
    "settlement_branches": """
        SELECT biller_id, business_date, branch_id, gross, fees, net FROM settlement_lines""",
    "settlement_open_payouts": """
        SELECT biller_id, business_date, reference, amount, status, created_at FROM payouts
         WHERE status <> 'CONFIRMED'""",
    # autopay
    "autopay_mandates": """
        SELECT biller_id, id, channel_id, payer, account_no, cap, funding_sources, status
          FROM mandates""",
    "autopay_debits": """
        SELECT biller_id, id, mandate_id, channel_id, account_no, purpose, status, payment_id
          FROM debits""",
    "autopay_open_debits": """
        SELECT biller_id, id, created_at FROM debits WHERE status IN ('SCHEDULED', 'SENT')""",
    "autopay_observed_bills": """
        SELECT biller_id, bill_no, account_no, period, amount, late_fee, due_date
          FROM observed_bills""",
    # recon
    "recon_refunds": """
        SELECT biller_id, id, payment_id, channel_id, order_id, amount, status, business_date
          FROM refunds""",
    "recon_bank_debits": """
        SELECT l.import_id, l.line_no, l.party_ref, l.account_no, l.amount, l.currency,
               i.party_code AS bank_account
          FROM statement_lines l JOIN statement_imports i ON i.id = l.import_id
         WHERE l.status = 'DEBIT' AND i.party = 'bank'""",
    "recon_open_corrections": """
        SELECT c.run_id, c.item_no, r.finished_at AS run_finished_at
          FROM recon_corrections c JOIN recon_runs r ON r.id = c.run_id
         WHERE c.status <> 'APPLIED'""",
    # the queues of the platform and of the areas that deliver
    "outbox_pending": """
        SELECT biller_id, id, occurred_at FROM outbox_events WHERE dispatched_at IS NULL""",
    "outbox_emit": """
        SELECT biller_id, event_type, aggregate_id, payload, occurred_at FROM outbox_events""",
    "webhooks_pending": """
        SELECT id, created_at FROM webhook_deliveries WHERE status = 'PENDING'""",
    "notify_pending": "SELECT id, created_at FROM notifications WHERE status = 'PENDING'",
    "headend_pending_commands": """
        SELECT biller_id, id, decided_at, overdue_at FROM meter_commands
         WHERE next_attempt_at IS NOT NULL""",
}


def upgrade() -> None:
    for name, query in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {query}")


def downgrade() -> None:
    op.execute(f"DROP VIEW {', '.join(VIEWS)}")
