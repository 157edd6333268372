"""Where each table lives when the hub's database is a distributed PostgreSQL (Citus-style).

- ``DISTRIBUTED``: a utility's own rows, sharded by ``biller_id`` and colocated, so that
  one utility's work (a payment and its bills, entry, postings and event) runs on one
  shard. Its primary key, unique constraints and unique indexes lead with ``biller_id``,
  which is NOT NULL, and a foreign key to it carries ``biller_id`` to ``biller_id``.
- ``REFERENCE``: small tables read with every utility's rows, copied to every node.
- ``LOCAL``: the hub's own bookkeeping, on the coordinator only (rules that cross
  utilities, the work queues of people and of the worker, imported statements).

Foreign keys go from a distributed table to a distributed or reference one, from a
reference table to a reference one, from a local table to a local or reference one:
the ones a distributed PostgreSQL can keep.

Every table of the schema is classed here, once; ``tests/db/test_distribution.py`` proves
the keys from the catalog and ``docs/distribution.md`` says why each table is where it is.
"""

from __future__ import annotations

from enum import StrEnum


class Placement(StrEnum):
    DISTRIBUTED = "distributed"
    REFERENCE = "reference"
    LOCAL = "local"


SHARD_KEY = "biller_id"

D, R, L = Placement.DISTRIBUTED, Placement.REFERENCE, Placement.LOCAL

PLACEMENT: dict[str, Placement] = {
    # billers' customers, their bills and their payments
    "customer_accounts": D,
    "bills": D,
    "late_fee_rules": D,
    "late_fee_waivers": D,
    "bindings": D,
    "binding_challenges": D,
    "binding_failures": D,
    "payments": D,
    "payment_rollups": D,
    "payment_minutes": D,
    "collection_days": D,
    "bill_claims": D,
    "biller_calls": D,
    "refunds": D,
    "outbox_events": D,
    # the ledger: an entry and its postings live with the entry's biller
    "journal_entries": D,
    "postings": D,
    # auto-pay and notices
    "mandates": D,
    "enrolments": D,
    "debits": D,
    "debit_attempts": D,
    "observed_bills": D,
    "notifications": D,
    "notification_attempts": D,
    "bill_reminders": D,
    "overdue_notices": D,
    "reminder_choices": D,
    "reminder_defaults": D,
    # early warning of collection
    "warning_rules": D,
    "warning_contacts": D,
    "collection_warnings": D,
    # meters, readings, head-ends
    "meters": D,
    "meter_reads": D,
    "meter_intervals": D,
    "meter_usage": D,
    "daily_usage": D,
    "head_ends": D,
    "meter_sequences": D,
    "meter_commands": D,
    "meter_command_attempts": D,
    # prepaid and billing runs
    "prepaid_accounts": D,
    "prepaid_accruals": D,
    "prepaid_rewards": D,
    "prepaid_statements": D,
    "billing_runs": D,
    "bill_usage": D,
    "bill_lines": D,
    # a utility's settings
    "biller_connections": D,
    "tariff_assignments": D,
    "biller_fee_rules": D,
    "settlement_accounts": D,
    # settlement
    "settlements": D,
    "settlement_lines": D,
    "settlement_branch_days": D,
    "payouts": D,
    # collection management: a utility's monthly analyses
    "collection_analyses": D,
    # reference
    "channels": R,
    "billers": R,
    "calendar_days": R,
    "tariffs": R,
    "tariff_versions": R,
    "tariff_blocks": R,
    "ledger_accounts": R,
    "channel_fee_rules": R,
    "reading_imports": R,
    "api_tokens": R,
    "staff_users": R,  # read with every console request
    "receipt_keys": R,  # one row, read with every receipt a utility's node makes
    # local
    "payment_orders": L,
    "channel_nonces": L,
    "payment_exceptions": L,
    "webhook_deliveries": L,
    "webhook_attempts": L,
    "audit_log": L,
    # the front line (channel-api.md §11): outlets, terminals and operators are small and
    # read with every terminal request; which outlet took a payment lives with the payment;
    # the float is one counter across utilities, the hub's own (see docs/distribution.md)
    "outlets": R,
    "terminals": R,
    "outlet_operators": R,
    "outlet_payments": D,
    # recharge vouchers (channel-api.md §12): a utility's batches, vouchers, redemptions,
    # credits and PIN key; the brute-force brake counts by payer across utilities
    "voucher_keys": D,
    "voucher_batches": D,
    "vouchers": D,
    "voucher_redemptions": D,
    "voucher_credits": D,
    "voucher_failures": L,
    "voucher_lockouts": L,
    "outlet_commission_rules": D,
    "settlement_commissions": D,
    "outlet_voids": D,  # with the payment it voids
    "outlet_floats": L,
    "float_deposits": L,
    "outlet_shifts": L,
    "outlet_refunds_due": L,
    "staff_sessions": L,
    # the payer pages' sessions and pay orders: a payer's, across utilities
    "payer_sessions": L,
    "payer_orders": L,
    "payer_signups": L,
    "staff_approvals": L,
    "staff_jobs": L,
    "statement_imports": L,
    "statement_lines": L,
    "recon_runs": L,
    "recon_items": L,
    "recon_corrections": L,
    "recon_payment_files": L,
    "alembic_version": L,
    "schema_repeatables": L,
    "collection_closed_days": L,
    "procrastinate_jobs": L,
    "procrastinate_events": L,
    "procrastinate_periodic_defers": L,
    "procrastinate_workers": L,
}

# Which placements a foreign key may point to from each placement.
MAY_REFERENCE: dict[Placement, frozenset[Placement]] = {
    D: frozenset({D, R}),
    R: frozenset({R}),
    L: frozenset({L, R}),
}
