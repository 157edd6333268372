"""Named API tokens with scopes, replacing the flat ``UTILIPAY_ADMIN_TOKENS`` list.

Only a token's SHA-256 is kept; it is looked up by that hash. A name has at most one
live (unrevoked) token, so the audit log's actor names one credential at a time.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE api_tokens (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
            token_sha256 bytea NOT NULL CHECK (length(token_sha256) = 32),
            scopes text[] NOT NULL CHECK (cardinality(scopes) > 0),
            created_at timestamptz NOT NULL,
            created_by text NOT NULL,
            expires_at timestamptz,
            revoked_at timestamptz,
            revoked_by text,
            last_used_at timestamptz,
            CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
        );
        CREATE UNIQUE INDEX api_tokens_by_hash ON api_tokens (token_sha256);
        CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE api_tokens")
