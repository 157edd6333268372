"""Repeatable SQL, and one way to post to the ledger.

- From this revision on, the body of every function and trigger lives once, in its area's
  ``sql/*.sql``, applied after the versioned migrations at the head
  (``migrations/repeatable.py``); ``schema_repeatables`` records the checksum of each file
  applied. The bodies earlier revisions wrote stay in them, as history.
- The ledger's functions come with the files: ``ledger_post`` (the one writer of journal
  entries), the flows' rules around it and the account plan's lookups. ``pay_hosted`` and
  ``prepaid_top_up`` post through them, write their payment with its order's claim through
  ``hosted_payment_write``, and reach what other areas own through the owners' functions
  (``channel_nonce_use``, ``billing_write_off``) and views (migration 0024), as
  ``debit_event`` does: ``billers_directory`` gains the pre-store reward's terms for it.

Downgrade: the functions the files added go, and the three they changed get back the bodies
of revision 0024 (``pay_hosted`` and ``prepaid_top_up`` as 0022 derives them, ``debit_event``
as 0006 wrote it); ``tests/migrations/test_repeatable_sql.py`` proves the result is 0024
built fresh.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-23
"""

from __future__ import annotations

import re
from importlib import import_module

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

ADDED_FUNCTIONS = (
    "channel_nonce_use(integer, text, timestamptz)",
    "billing_write_off(integer, text[], text, timestamptz)",
    "hosted_payment_write(text, integer, text, bytea, integer, text, bigint, text[], text, text,"
    " timestamptz, text)",
    "pay_hosted_refusal(integer, text, text, text)",
    "ledger_post_accrual(integer, date, timestamptz, integer[], bigint[])",
    "ledger_post_top_up(integer, text, timestamptz, integer, integer, bigint, text)",
    "ledger_post_payment(integer, text, timestamptz, integer, integer, bigint)",
    "ledger_post(integer, text, timestamptz, integer[], bigint[], text, text)",
    "ledger_account(text, integer, integer)",
    "ledger_account_code(text, text, character)",
    # added to the files since (each file only creates or replaces: below the files, gone)
    "ledger_post_float_deposit(timestamptz, integer, integer, bigint, text)",
    # a hosted batch written set-wise (issue 15)
    "pay_hosted_many(text[], integer[], text[], text[], bytea[], integer[], text[], bigint[],"
    " text[], text[], integer[], integer[], timestamptz, text, text[])",
    "pay_hosted_distinct(integer[], text[], integer[], text[])",
    "pay_hosted_prepare(integer, text, text, bytea, integer, text, bigint, text[], timestamptz,"
    " jsonb)",
    "hosted_payments_write(text[], integer[], text[], bytea[], integer[], text[], bigint[],"
    " text[], text, text[], timestamptz, text)",
    "ledger_post_payments(integer[], text[], timestamptz, integer[], integer[], bigint[])",
    "ledger_post_payment_entries(text, timestamptz, integer[], text[], integer[], integer[],"
    " bigint[])",
    "billing_write_off_many(integer[], text[], text[], timestamptz)",
    "channel_nonces_use(integer[], text[], timestamptz)",
    "pay_hosted_bills_locked(integer[], integer[], text[], bigint[], text[], timestamptz)",
    "pay_hosted_float_take(jsonb, bigint, integer, timestamptz)",
)
VERSIONS = "utilipay.migrations.versions."
# the terms other areas apply, with the pre-store reward's (prepaid_top_up grants it)
BILLERS_DIRECTORY = """
    SELECT id, code, name, category, region, parent_id, mode, status, currency,
           debit_notice_s, prepaid_reminder, prepaid_cut_grace_s, bill_due_days,
           prepaid_reward_min, prepaid_reward_points
      FROM billers"""


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE schema_repeatables (
            path text PRIMARY KEY,
            sha256 text NOT NULL,
            applied_at timestamptz NOT NULL
        )
        """
    )
    op.execute(f"CREATE OR REPLACE VIEW billers_directory AS {BILLERS_DIRECTORY}")


def _as_written(migration: str, constant: str, function: str) -> str:
    """``function`` as ``migration`` created it, to replace today's."""
    source = getattr(import_module(VERSIONS + migration), constant)
    found = re.search(rf"CREATE FUNCTION {function}\(.*?\$\$.*?\$\$;", source, re.DOTALL)
    if found is None:
        raise LookupError(f"migration {migration} does not create {function}")
    return found.group(0).replace("CREATE", "CREATE OR REPLACE", 1)


def downgrade() -> None:
    keys = import_module(VERSIONS + "0022_distribution_keys")
    for creating in keys.CREATING:  # 0001's and 0011's bodies, with 0022's order claims
        op.execute(keys._claiming_orders(keys._as_defined(*creating)))
    op.execute(_as_written("0006_autopay", "DEBIT_EVENT", "debit_event"))
    op.execute(f"DROP FUNCTION {', '.join(ADDED_FUNCTIONS)}")
    before = import_module(VERSIONS + "0024_area_views").VIEWS["billers_directory"]
    op.execute(f"DROP VIEW billers_directory; CREATE VIEW billers_directory AS {before}")
    op.execute("DROP TABLE schema_repeatables")
