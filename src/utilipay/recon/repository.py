"""PostgreSQL's side of a run: which statements there are, the books out as CSV, the records in.

Bulk data moves with ``COPY`` on the run's own connection (asyncpg), so the
snapshot read and the records written belong to the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.recon.carry import Window
from utilipay.recon.engine import ITEM_COLUMNS
from utilipay.recon.pipe import Sink

# The newest import of each statement (a re-downloaded file replaces the older one).
_IMPORTS = text(
    """
    SELECT DISTINCT ON (party, party_code, business_date)
           id, party, party_code, business_date, file_name, line_count,
           columnar_sha256
      FROM statement_imports
     WHERE party IN ('channel', 'biller')
       AND business_date BETWEEN CAST(:day AS date) - 1 AND CAST(:day AS date) + 1
     ORDER BY party, party_code, business_date, id DESC
    """
)
_BILLERS = text(
    """
    SELECT id, code, mode FROM billers_directory
     WHERE CAST(:code AS text) IS NULL OR code = :code
        OR parent_id = (SELECT id FROM billers_directory WHERE code = :code)
     ORDER BY id
    """
)
# Channels and remote billers that had write-offs on the day but no statement.
_UNSTATED = text(
    """
    SELECT 'channel' AS party, c.code, count(*) AS payments
      FROM payments_orders p JOIN channels_directory c ON c.id = p.channel_id
     WHERE p.biller_id = ANY(:billers) AND p.status = 'SUCCEEDED'
       AND p.finished_at >= :start AND p.finished_at < :end
       AND NOT c.code = ANY(:channels)
       AND (CAST(:channel AS text) IS NULL OR c.code = :channel)
     GROUP BY c.code
    UNION ALL
    SELECT 'biller', b.code, count(*)
      FROM payments_orders p JOIN billers_directory b ON b.id = p.biller_id
      JOIN channels_directory c ON c.id = p.channel_id
     WHERE p.biller_id = ANY(:remote) AND NOT p.biller_id = ANY(:three_way)
       AND p.status = 'SUCCEEDED' AND p.finished_at >= :start AND p.finished_at < :end
       AND c.code = ANY(:channels)
     GROUP BY b.code
     ORDER BY 1, 2
    """
)

# The books as stored, narrowed to what matching reads: a record's day and edge and a
# line's reference are derived in DuckDB (engine.WIRE), where they cost a fraction of
# what a time zone conversion and a concatenation per row cost here.
_HUB = """
SELECT p.biller_id, p.id, c.code, p.order_id, p.amount, p.status,
       p.finished_at AT TIME ZONE 'UTC'
  FROM payments_orders p JOIN channels_directory c ON c.id = p.channel_id
 WHERE p.biller_id = ANY($3::int[]) AND p.finished_at >= $1 AND p.finished_at < $2
   AND c.code = ANY($4::text[])
"""
_LINES = """
SELECT {key}, l.amount, l.status, l.occurred_at AT TIME ZONE 'UTC',
       l.business_date - $1::date, l.import_id, l.line_no
  FROM statement_lines l JOIN statement_imports i ON i.id = l.import_id {join}
 WHERE l.import_id = ANY($4::bigint[]) AND l.order_id IS NOT NULL
   AND l.status = ANY($5::text[])
   AND (l.business_date = $1 OR (l.occurred_at >= $2 AND l.occurred_at < $3))
   AND ($6::text IS NULL OR {channel} = $6)
"""
_CHANNEL_LINES = _LINES.format(key="i.party_code, l.order_id", join="", channel="i.party_code")
_UTILITY_LINES = _LINES.format(
    key="b.id, l.order_id",
    join="JOIN billers_directory b ON b.code = i.party_code",
    channel="l.channel_code",
)
_LOOKUP = """
SELECT p.biller_id, p.id, c.code, p.order_id, p.amount, p.status,
       coalesce(p.finished_at, p.created_at) AT TIME ZONE 'UTC'
  FROM payments_orders p JOIN channels_directory c ON c.id = p.channel_id
 WHERE (p.biller_id, p.id) IN (
       SELECT o.biller_id, o.id
         FROM unnest($1::text[], $2::text[]) AS k(code, order_id)
         JOIN channels_directory oc ON oc.code = k.code
        CROSS JOIN LATERAL order_payment(oc.id, k.order_id) o
       UNION ALL
       SELECT * FROM unnest($3::int[], $4::text[]))
"""


@dataclass
class Sources:
    """What a run reads: the statements, the billers in scope, what is missing."""

    window: Window
    channel: str | None
    biller: str | None
    billers: dict[int, str]  # id → code, in scope
    remote: set[int]
    imports: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    payments_read_from: str = "postgresql"  # or "kept file" (payments_file.py)

    def of(self, party: str, day: date | None = None) -> list[dict[str, Any]]:
        return [
            i for i in self.imports
            if i["party"] == party and (day is None or i["business_date"] == day)
        ]  # fmt: skip

    @property
    def channels(self) -> list[str]:
        """Channels with a statement for the day (the others are not reconciled)."""
        return sorted({i["party_code"] for i in self.of("channel", self.window.day)})

    @property
    def three_way(self) -> set[int]:
        """Remote billers with a statement for the day: matched three ways."""
        codes = {i["party_code"] for i in self.of("biller", self.window.day)}
        return {b for b in self.remote if self.billers[b] in codes}

    def as_json(self) -> dict[str, Any]:
        return {
            "statements": [
                {**i, "business_date": i["business_date"].isoformat()} for i in self.imports
            ],
            "three_way": sorted(self.billers[b] for b in self.three_way),
            "missing": self.missing,
            "payments_read_from": self.payments_read_from,
        }


async def sources(
    conn: AsyncConnection, window: Window, channel: str | None, biller: str | None
) -> Sources:
    billers = (await conn.execute(_BILLERS, {"code": biller})).all()
    found = Sources(
        window,
        channel,
        biller,
        billers={b.id: b.code for b in billers},
        remote={b.id for b in billers if b.mode == "remote"},
    )
    # a hosted biller's book is the hub's own: only remote billers' statements are read
    remote_codes = {found.billers[b] for b in found.remote}
    for row in await conn.execute(_IMPORTS, {"day": window.day}):
        if row.party == "channel" and channel not in (None, row.party_code):
            continue
        if row.party == "biller" and row.party_code not in remote_codes:
            continue
        found.imports.append(dict(row._mapping))
    params = {
        "billers": list(found.billers),
        "remote": list(found.remote),
        "three_way": list(found.three_way),
        "channels": found.channels,
        "channel": channel,
        "start": window.start,
        "end": window.end,
    }
    found.missing = [dict(r._mapping) for r in await conn.execute(_UNSTATED, params)]
    return found


async def _driver(conn: AsyncConnection) -> Any:
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def copy_query(conn: AsyncConnection, query: str, args: Sequence[object], out: Sink) -> None:
    """``query``'s rows as CSV into ``out``, on the run's connection (its transaction)."""
    await (await _driver(conn)).copy_from_query(query, *args, output=out, format="csv")


async def export_hub(conn: AsyncConnection, found: Sources, out: Sink) -> None:
    """The hub's payments finished within the run's window, of channels with a statement."""
    window = found.window
    args = [window.low, window.high, list(found.billers), found.channels]
    await copy_query(conn, _HUB, args, out)


# The lines a run reads of a party's statement: a payment and what cancels it.
STATUSES = {"channel": ["PAID", "REFUNDED"], "biller": ["PAID", "REVERSED"]}


async def export_lines(
    conn: AsyncConnection, found: Sources, party: str, imports: list[int], out: Sink
) -> None:
    """Statement lines of the day, and those of the next and last day near midnight, of a
    party's ``imports``."""
    window = found.window
    query = _CHANNEL_LINES if party == "channel" else _UTILITY_LINES
    args = [window.day, window.low, window.high, imports, STATUSES[party], found.channel]
    await copy_query(conn, query, args, out)


async def export_lookup(
    conn: AsyncConnection,
    orders: list[tuple[str, str]],
    payments: list[tuple[int, str]],
    out: Sink,
) -> None:
    """Payments found by the keys of lines the window's payments did not explain."""
    args = [
        [c for c, _ in orders], [o for _, o in orders],
        [b for b, _ in payments], [p for _, p in payments],
    ]  # fmt: skip
    await copy_query(conn, _LOOKUP, args, out)


async def copy_items(conn: AsyncConnection, path: Path) -> None:
    await (await _driver(conn)).copy_to_table(
        "recon_items", source=path, columns=list(ITEM_COLUMNS), format="csv"
    )


@dataclass(frozen=True, slots=True)
class LastRun:
    """A utility's latest reconciliation run (its own, or one of every utility)."""

    id: int
    business_date: date
    channel_code: str | None
    finished_at: datetime


_LAST_RUNS = text(
    """
    SELECT c.code, r.id, r.business_date, r.channel_code, r.finished_at
      FROM unnest(CAST(:codes AS text[])) AS c (code)
     CROSS JOIN LATERAL (
           SELECT id, business_date, channel_code, finished_at FROM recon_runs
            WHERE biller_code = c.code OR biller_code IS NULL
            ORDER BY business_date DESC, finished_at DESC LIMIT 1) r
    """
)


async def last_runs(conn: AsyncConnection, biller_codes: list[str]) -> dict[str, LastRun]:
    """Each utility's latest run, by its code (a utility never reconciled is absent).
    Only when and what: a run of every utility counts every utility's records."""
    rows = await conn.execute(_LAST_RUNS, {"codes": biller_codes})
    return {r.code: LastRun(r.id, r.business_date, r.channel_code, r.finished_at) for r in rows}
