"""Seal the secrets already stored: channel secrets, biller keys, head-end secrets.

From this revision on, the hub writes them sealed (``security/sealing.py``); this
seals the ones written before, with the key of the process that migrates, which
must be the key every hub process uses. A downgrade unseals them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from utilipay.security.sealing import PREFIX, seal, unseal

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# table -> (its key columns, its secret columns)
SECRETS = {
    "channels": (("id",), ("secret", "previous_secret")),
    "biller_connections": (("biller_id",), ("key", "previous_key")),
    "head_ends": (("biller_id",), ("secret", "previous_secret")),
}


def _rewrite(change: Callable[[str], str], sealed: bool) -> None:
    bind = op.get_bind()
    for table, (keys, columns) in SECRETS.items():
        for column in columns:
            # a plain value to seal, or a sealed one to open
            test = "LIKE" if sealed else "NOT LIKE"
            rows = bind.execute(
                sa.text(
                    f"SELECT {', '.join(keys)}, {column} AS value FROM {table}"  # noqa: S608
                    f" WHERE {column} IS NOT NULL AND {column} {test} :prefix"
                ),
                {"prefix": PREFIX + "%"},
            ).mappings()
            for row in list(rows):
                where = " AND ".join(f"{k} = :{k}" for k in keys)
                bind.execute(
                    sa.text(f"UPDATE {table} SET {column} = :value WHERE {where}"),  # noqa: S608
                    {**{k: row[k] for k in keys}, "value": change(row["value"])},
                )


def upgrade() -> None:
    _rewrite(seal, sealed=False)


def downgrade() -> None:
    _rewrite(unseal, sealed=True)
