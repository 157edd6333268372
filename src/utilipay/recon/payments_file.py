"""A business day's hub payments kept as a Parquet file, read by runs instead of ``COPY``ing
them out of PostgreSQL (issue 15: with the statements kept at import, the payments were
the rest of the read).

Unlike a statement, a day's payments may change after the day: a payment resolved late,
reversed, voided. So a file is not trusted for its age but for what it holds: it has
the payments of the day's widest window (the day and ``MAX_CUTOFF`` either side, of every
biller and channel) and is filed (``recon_payment_files``) under the fingerprint of those
rows — their number and the XOR of a 64-bit hash of each whole row, every column a run
reads — taken in the snapshot its rows were written from. A run takes the fingerprint of
the window as its own transaction sees it (a scan and a hash a row: about a third of the
server's CPU of ``COPY``ing the rows, and none of the run's own parsing them) and reads a
file only if one is filed under that fingerprint and is still the file written (its
SHA-256). A row changed, added or gone since changes the fingerprint (but for a chance
of 2⁻⁶⁴), and the run reads the payments from PostgreSQL as before.

Written by ``utilipay recon keep-payments --date D`` once the day is over (a nightly job),
not by a run: a run that wrote it would be slower by the writing for the one time it
helps a later run of the same, unchanged day.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path

import structlog
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.errors import DomainError, ErrorCode
from utilipay.recon import pipe
from utilipay.recon.carry import MAX_CUTOFF, Window
from utilipay.recon.columnar import Kept, file_sha256, standing, write_parquet
from utilipay.recon.engine import WIRE
from utilipay.recon.match_tables import recon_payment_files
from utilipay.recon.repository import copy_query

log = structlog.get_logger(__name__)

_WINDOW = "p.finished_at >= $1 AND p.finished_at < $2"
# Every payment of the window, as a run reads it (repository._HUB, engine.WIRE["hub"]).
_ROWS = f"""
SELECT p.biller_id, p.id, c.code, p.order_id, p.amount, p.status,
       p.finished_at AT TIME ZONE 'UTC'
  FROM payments_orders p JOIN channels_directory c ON c.id = p.channel_id
 WHERE {_WINDOW}
"""  # noqa: S608 - no input in it
_FINGERPRINT = text(
    """
    SELECT count(*) AS rows,
           coalesce(bit_xor(hash_record_extended((p.biller_id, p.id, p.channel_id, p.order_id,
                                                  p.amount, p.status, p.finished_at), 0)), 0)
           AS xor
      FROM payments_orders p WHERE p.finished_at >= :low AND p.finished_at < :high
    """
)


def widest(day: date) -> Window:
    """The window a file holds: every run's of ``day``, whatever its cut-off."""
    return Window(day, MAX_CUTOFF)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A day's payments as one transaction sees them: how many, and the XOR of a 64-bit
    hash of each whole row. Filed as its text, ``rows:xor`` (16 hex digits)."""

    rows: int
    xor: int

    def __str__(self) -> str:
        return f"{self.rows}:{self.xor:016x}"


@dataclass(frozen=True, slots=True)
class KeptDay:
    """What ``keep`` did: the day's fingerprint, and whether it wrote a file (not when the
    file filed under that fingerprint already stands for the payments)."""

    fingerprint: Fingerprint
    written: bool


async def fingerprint(conn: AsyncConnection, day: date) -> Fingerprint:
    """The day's payments' fingerprint as this transaction sees them."""
    window = widest(day)
    found = (await conn.execute(_FINGERPRINT, {"low": window.low, "high": window.high})).one()
    return Fingerprint(found.rows, found.xor & 0xFFFF_FFFF_FFFF_FFFF)


async def keep(conn: AsyncConnection, day: date, kept: Kept, now: datetime) -> KeptDay:
    """Write the day's payments as a file and file it under their fingerprint, unless the
    file filed under it already stands for them (a day kept again, unchanged: nothing
    rewritten, no second file). The transaction must be REPEATABLE READ: the fingerprint
    and the rows written must be of one snapshot."""
    isolation = await conn.scalar(text("SELECT current_setting('transaction_isolation')"))
    if isolation not in {"repeatable read", "serializable"}:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"keeping payments needs REPEATABLE READ, not {isolation}"
        )
    taken = await fingerprint(conn, day)
    filed = (await _filed(conn, day)).get(str(taken))
    if filed is not None and await _standing(kept, day, filed):
        return KeptDay(taken, written=False)
    sha256 = await _write(conn, day, kept)
    values = {"business_date": day, "fingerprint": str(taken), "rows": taken.rows,
              "sha256": sha256, "kept_at": now}  # fmt: skip
    await conn.execute(
        insert(recon_payment_files)
        .values(values)
        .on_conflict_do_update(
            index_elements=["business_date", "fingerprint"],
            set_={"sha256": sha256, "rows": taken.rows, "kept_at": now},
        )
    )
    return KeptDay(taken, written=True)


async def _write(conn: AsyncConnection, day: date, kept: Kept) -> str:
    """The day's payments written as a Parquet file under ``kept``; its SHA-256."""
    window = widest(day)
    kept.directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=kept.directory, prefix=".writing-") as tmp:
        written = Path(tmp) / "payments.parquet"
        send = partial(copy_query, conn, _ROWS, [window.low, window.high])
        await pipe.stream(
            Path(tmp) / "rows.csv", send, partial(write_parquet, WIRE["hub"], written)
        )
        sha256 = file_sha256(written)
        os.replace(written, kept.path(sha256))
    return sha256


async def _filed(conn: AsyncConnection, day: date) -> dict[str, tuple[str, int]]:
    """The day's files kept so far, by the fingerprint each was filed under (its text):
    each file's SHA-256 and number of rows."""
    t = recon_payment_files.c
    rows = await conn.execute(select(t.fingerprint, t.sha256, t.rows).where(t.business_date == day))
    return {row.fingerprint: (row.sha256, row.rows) for row in rows}


async def _standing(kept: Kept, day: date, filed: tuple[str, int]) -> Path | None:
    # the file's check is CPU and disk: off the event loop
    sha256, rows = filed
    return await asyncio.to_thread(standing, kept, sha256, rows, f"the payments of {day}")


async def usable(conn: AsyncConnection, day: date, kept: Kept) -> Path | None:
    """The day's file if one holds the payments as this transaction sees them, else None
    (logged with why when a file was kept but cannot stand)."""
    filed = await _filed(conn, day)
    if not filed:  # none kept: not worth a fingerprint
        return None
    found = filed.get(str(await fingerprint(conn, day)))
    if found is None:
        log.info("recon.payments_changed_since_kept", day=day.isoformat())
        return None
    return await _standing(kept, day, found)
