"""The audit log becomes readable: what an action changed, and indexes to page through it.

- ``before`` and ``after``: the values an action changed (JSON), where it changes any;
- newest-first pages, all entries or those of one actor, one object type or one object,
  each read from an index ending with (at, id), the order and the cursor of a page.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

INDEXES = {
    "audit_log_by_time": "at, id",
    "audit_log_by_actor": "actor, at, id",
    "audit_log_by_object_type": "object_type, at, id",
    "audit_log_by_object": "object_type, object_id, at, id",
}


def upgrade() -> None:
    op.execute("ALTER TABLE audit_log ADD COLUMN before jsonb, ADD COLUMN after jsonb")
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON audit_log ({columns})")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
    op.execute("ALTER TABLE audit_log DROP COLUMN before, DROP COLUMN after")
