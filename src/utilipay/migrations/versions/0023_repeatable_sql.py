"""Repeatable SQL, and one way to post to the ledger.

- From this revision on, the body of every function and trigger lives once, in its area's
  ``sql/*.sql``, applied after the versioned migrations at the head
  (``migrations/repeatable.py``); ``schema_repeatables`` records the checksum of each file
  applied. The bodies earlier revisions wrote stay in them, as history.
- The ledger's functions come with the files: ``ledger_post`` (the one writer of journal
  entries), the flows' rules around it and the account plan's lookups; ``pay_hosted`` and
  ``prepaid_top_up`` post through them.

Downgrade: the ledger's functions go, and ``pay_hosted`` and ``prepaid_top_up`` get back
the bodies migrations 0001 and 0011 wrote (no other body changed in the move to the files).

Revision ID: 0023
Revises: 0021
Create Date: 2026-11-23
"""

from __future__ import annotations

import re
from importlib import import_module

from alembic import op

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None

LEDGER_FUNCTIONS = (
    "ledger_post_accrual(integer, date, timestamptz, integer[], bigint[])",
    "ledger_post_top_up(integer, text, timestamptz, integer, integer, bigint, text)",
    "ledger_post_payment(integer, text, timestamptz, integer, integer, bigint)",
    "ledger_post(integer, text, timestamptz, integer[], bigint[], text, text)",
    "ledger_account(text, integer, integer)",
    "ledger_account_code(text, text, character)",
)
# (migration, its constant, function): the bodies of 0021 that posted to the ledger directly
POSTING_BEFORE = (
    ("0001_core", "PAY_HOSTED", "pay_hosted"),
    ("0011_prepaid", "TOP_UP", "prepaid_top_up"),
)


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


def _as_written(migration: str, constant: str, function: str) -> str:
    """``function`` as ``migration`` created it, to replace the body of today's."""
    source = getattr(import_module(f"utilipay.migrations.versions.{migration}"), constant)
    found = re.search(rf"CREATE FUNCTION {function}\(.*?\$\$.*?\$\$;", source, re.DOTALL)
    if found is None:
        raise RuntimeError(f"migration {migration} does not create {function}")
    return "CREATE OR REPLACE" + found.group(0).removeprefix("CREATE")


def downgrade() -> None:
    for migration, constant, function in POSTING_BEFORE:
        op.execute(_as_written(migration, constant, function))
    op.execute(f"DROP FUNCTION {', '.join(LEDGER_FUNCTIONS)}")
    op.execute("DROP TABLE schema_repeatables")
