"""Repeatable SQL, and one way to post to the ledger.

- From this revision on, the body of every function and trigger lives once, in its area's
  ``sql/*.sql``, applied after the versioned migrations at the head
  (``migrations/repeatable.py``); ``schema_repeatables`` records the checksum of each file
  applied. The bodies earlier revisions wrote stay in them, as history.
- The ledger's functions come with the files: ``ledger_post`` (the one writer of journal
  entries), the flows' rules around it and the account plan's lookups; ``pay_hosted`` and
  ``prepaid_top_up`` post through them. The two also write their payment, with its order's
  claim, through one function (``hosted_payment_write``), and ``pay_hosted``'s refusals for
  bills through another (``pay_hosted_refusal``).

Downgrade: the functions the files added go, and ``pay_hosted`` and ``prepaid_top_up`` get
back the bodies revision 0022 gave them, derived as 0022 derives them (no other body changed
in the move to the files; ``tests/test_repeatable_sql.py`` proves both).

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-23
"""

from __future__ import annotations

from importlib import import_module

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

ADDED_FUNCTIONS = (
    "hosted_payment_write(text, integer, text, bytea, integer, text, bigint, text[], text, text,"
    " timestamptz, text)",
    "pay_hosted_refusal(integer, text, text, text)",
    "ledger_post_accrual(integer, date, timestamptz, integer[], bigint[])",
    "ledger_post_top_up(integer, text, timestamptz, integer, integer, bigint, text)",
    "ledger_post_payment(integer, text, timestamptz, integer, integer, bigint)",
    "ledger_post(integer, text, timestamptz, integer[], bigint[], text, text)",
    "ledger_account(text, integer, integer)",
    "ledger_account_code(text, text, character)",
)
# the revision before this one: it last defined the functions that posted to the ledger
BEFORE = "utilipay.migrations.versions.0022_distribution_keys"


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


def downgrade() -> None:
    keys = import_module(BEFORE)
    for creating in keys.CREATING:  # 0001's and 0011's bodies, with 0022's order claims
        op.execute(keys._claiming_orders(keys._as_defined(*creating)))
    op.execute(f"DROP FUNCTION {', '.join(ADDED_FUNCTIONS)}")
    op.execute("DROP TABLE schema_repeatables")
