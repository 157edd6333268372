"""Repeatable SQL: the body of every function and trigger lives once, in its area's ``sql/``.

The versioned migrations (``versions/``) change tables; the bodies they wrote stay there as
history. After them, an upgrade to the head applies the areas' ``sql/*.sql`` files, as
Flyway applies its ``R__`` scripts: each file only creates or replaces (``CREATE OR
REPLACE``), so applying it again changes nothing, and its checksum is recorded in
``schema_repeatables``. A file whose checksum changed is applied again on the next upgrade;
when a versioned migration ran, every file is, since it may have redefined what a file
defines. A running hub is left alone when nothing changed: replacing a trigger locks its
table.

Files are applied in the order of ``AREAS``, the layers' order (an area's SQL may call the
SQL of the areas below it), an area's files by name and a file's statements in turn:
PostgreSQL checks a SQL-language function's body, what it calls included, when it is
created. An area that gains a ``sql/`` directory joins ``AREAS``; a file outside them is
refused rather than silently left out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from utilipay.migrations.tables import schema_repeatables

AREAS = (
    "ledger", "calendar", "channels", "billing", "tariffs", "outlets", "payments", "prepaid",
    "autopay", "vouchers",
)  # fmt: skip
PACKAGE = Path(__file__).resolve().parent.parent  # utilipay/
LOCK = 0x5EB1E  # one upgrade at a time applies the files


@dataclass(frozen=True, slots=True)
class SqlFile:
    path: str  # area/name.sql
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def sql_files() -> list[SqlFile]:
    """Every area's SQL files, in the order they are applied."""
    found = sorted(PACKAGE.glob("*/sql/*.sql"))
    strays = sorted({p.parent.parent.name for p in found} - set(AREAS))
    if strays:
        raise RuntimeError(f"SQL files of areas not in repeatable.AREAS: {', '.join(strays)}")
    rank = {area: n for n, area in enumerate(AREAS)}
    found.sort(key=lambda p: (rank[p.parent.parent.name], p.name))
    return [SqlFile(f"{p.parent.parent.name}/{p.name}", p.read_text()) for p in found]


def apply(connection: Connection, *, everything: bool) -> list[str]:
    """Apply the files whose checksum changed (``everything``: all of them), in the
    migration's transaction; the paths applied."""
    connection.execute(select(func.pg_advisory_xact_lock(LOCK)))
    recorded = dict(
        connection.execute(select(schema_repeatables.c.path, schema_repeatables.c.sha256)).all()
    )
    current = sql_files()
    due = [f for f in current if everything or recorded.get(f.path) != f.sha256]
    for sql in due:
        # driver-level, as written (no bind parameters in its '::' casts): percent signs
        # doubled, as psycopg reads them (format('%s') stays format('%s'))
        connection.exec_driver_sql(sql.text.replace("%", "%%"))
    gone = schema_repeatables.c.path.not_in([f.path for f in current])
    connection.execute(delete(schema_repeatables).where(gone))
    if due:
        rows = [{"path": f.path, "sha256": f.sha256, "applied_at": func.now()} for f in due]
        statement = insert(schema_repeatables).values(rows)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["path"],
                set_={"sha256": statement.excluded.sha256, "applied_at": func.now()},
            )
        )
    return [f.path for f in due]
