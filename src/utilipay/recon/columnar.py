"""A statement's lines kept as a Parquet file when it is imported, read by runs instead of
``COPY``ing the lines back out of PostgreSQL (issue 15: the read was most of a run).

Safe because a statement never changes once imported (nothing updates or deletes
``statement_lines``) and because PostgreSQL stays the record: the file is made from the
stored lines, in the import's transaction, and its SHA-256 goes into the import's row
(``statement_imports.columnar_sha256``). A run uses a file only when it is there, its
SHA-256 is that one and it holds the import's number of lines; otherwise it reads the
lines out of PostgreSQL as before and logs why. Files are named by their SHA-256, so
databases sharing a home (tests, benchmarks) never mistake one another's files, and a
file is complete or absent (written aside, then renamed).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb
import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.config import get_settings
from utilipay.recon import pipe
from utilipay.recon.engine import csv_source, isolated_duckdb
from utilipay.recon.repository import copy_query
from utilipay.recon.statement_tables import statement_imports

log = structlog.get_logger(__name__)

# Every line, as stored, narrowed to what a run reads of it (engine.KEPT filters them).
COLUMNS = {"line_no": "INTEGER", "order_id": "VARCHAR", "amount": "BIGINT",
           "status": "VARCHAR", "channel_code": "VARCHAR", "ts": "TIMESTAMP",
           "business_date": "DATE"}  # fmt: skip
_LINES = """
SELECT line_no, order_id, amount, status, channel_code, occurred_at AT TIME ZONE 'UTC',
       business_date
  FROM statement_lines WHERE import_id = $1
"""
KEPT_PARTIES = ("channel", "biller")  # the statements a run reads (a bank's are not)


@dataclass(frozen=True, slots=True)
class Kept:
    """Where the books' files are kept, each named by its SHA-256:
    ``<UTILIPAY_HOME>/recon/columnar`` (statements' and days' payments' alike)."""

    directory: Path

    @classmethod
    def under(cls, home: Path) -> Kept:
        return cls(home / "recon" / "columnar")

    @classmethod
    def of_hub(cls) -> Kept:
        return cls.under(get_settings().home)

    def path(self, sha256: str) -> Path:
        return self.directory / f"{sha256}.parquet"


# No files at all: every statement read from PostgreSQL (the benchmark's baseline).
NOT_KEPT = Kept(Path("/nonexistent"))


async def keep(conn: AsyncConnection, import_id: int, kept: Kept) -> str | None:
    """Write an import's lines (already in PostgreSQL, in this transaction) as a Parquet
    file and note its SHA-256 on the import; None, logged, when the file cannot be written
    (the import stands: runs read its lines from PostgreSQL)."""
    kept.directory.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=kept.directory, prefix=".writing-") as tmp:
            written = Path(tmp) / "lines.parquet"
            send = partial(copy_query, conn, _LINES, [import_id])
            receive = partial(write_parquet, COLUMNS, written)
            await pipe.stream(Path(tmp) / "lines.csv", send, receive)
            sha256 = file_sha256(written)
            os.replace(written, kept.path(sha256))
    except (OSError, duckdb.Error) as exc:
        log.warning("recon.statement_not_kept", import_id=import_id, error=str(exc))
        return None
    await conn.execute(
        update(statement_imports)
        .where(statement_imports.c.id == import_id)
        .values(columnar_sha256=sha256)
    )
    return sha256


def write_parquet(columns: dict[str, str], target: Path, source: Path) -> None:
    """PostgreSQL's CSV at ``source`` (a pipe being written) as a Parquet file."""
    db = isolated_duckdb()
    try:
        reader = csv_source(columns)  # the columns are this module's, the path a parameter
        db.execute(f"CREATE TABLE book AS SELECT * FROM {reader}", {"path": str(source)})  # noqa: S608
        db.execute(f"COPY book TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
    finally:
        db.close()


def file_sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def usable(kept: Kept, import_id: int, sha256: str | None, line_count: int) -> Path | None:
    """The import's file if it can stand for its lines, else None: silently when none was
    kept (an import before migration 0052), logged with why when the kept one cannot."""
    if sha256 is None:
        return None
    return standing(kept, sha256, line_count, f"statement import {import_id}")


def standing(kept: Kept, sha256: str, rows: int, what: str) -> Path | None:
    """The file kept under ``sha256`` if it is there, is that file and holds ``rows``; else
    None, and the log says why ``what`` is read from PostgreSQL."""
    path = kept.path(sha256)
    if not path.is_file():
        why = f"{path} is missing"
    elif file_sha256(path) != sha256:
        why = f"{path} is not the file kept (SHA-256 differs)"
    elif _rows(path) != rows:
        why = f"{path} does not hold the {rows} rows kept"
    else:
        return path
    log.warning("recon.read_from_postgresql", what=what, why=why)
    return None


def _rows(path: Path) -> int:
    db = isolated_duckdb()
    try:  # counted from the file's footer, not its pages
        found = db.execute("SELECT count(*) FROM read_parquet($path)", {"path": str(path)})
        return int(found.fetchone()[0])  # type: ignore[index]
    finally:
        db.close()
