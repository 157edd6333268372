"""The schema can be distributed by utility: proven from the catalog of the migrated database.

Every table is placed (``utilipay.db.distribution``); a distributed table's biller_id is
NOT NULL and leads its primary key and every unique index (unique constraints have one);
a foreign key to a distributed table carries biller_id to biller_id; and foreign keys only
point where a distributed PostgreSQL can keep them.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.db.distribution import MAY_REFERENCE, PLACEMENT, SHARD_KEY, Placement

DOC = Path(__file__).resolve().parents[2] / "docs" / "distribution.md"

_TABLES = text(
    """
    SELECT c.relname AS name, a.attnotnull AS key_not_null
      FROM pg_class c
      LEFT JOIN pg_attribute a
        ON a.attrelid = c.oid AND a.attname = :key AND NOT a.attisdropped
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
    """
)
# indkey[0] is 0 for an expression: no column leads such an index
_UNIQUE_INDEXES = text(
    """
    SELECT t.relname AS name, i.indexrelid::regclass::text AS index, i.indisprimary AS primary,
           (SELECT attname FROM pg_attribute
             WHERE attrelid = i.indrelid AND attnum = i.indkey[0]) AS first_column
      FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
     WHERE t.relnamespace = current_schema()::regnamespace AND i.indisunique
    """
)
_FOREIGN_KEYS = text(
    """
    SELECT k.conname AS name, s.relname AS source, t.relname AS target,
           EXISTS (SELECT 1 FROM unnest(k.conkey, k.confkey) AS pair(mine, theirs)
                     JOIN pg_attribute sa ON sa.attrelid = k.conrelid AND sa.attnum = pair.mine
                     JOIN pg_attribute ta ON ta.attrelid = k.confrelid AND ta.attnum = pair.theirs
                    WHERE sa.attname = :key AND ta.attname = :key) AS carries_key
      FROM pg_constraint k
      JOIN pg_class s ON s.oid = k.conrelid
      JOIN pg_class t ON t.oid = k.confrelid
     WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace
    """
)


async def violations(conn: AsyncConnection, placement: dict[str, Placement]) -> list[str]:
    """What stops the schema from being distributed as ``placement`` says, one line each."""
    found: list[str] = []
    tables = {r.name: r.key_not_null for r in await conn.execute(_TABLES, {"key": SHARD_KEY})}
    found += [f"{t}: not placed" for t in sorted(tables.keys() - placement.keys())]
    found += [f"{t}: placed, but no such table" for t in sorted(placement.keys() - tables.keys())]
    distributed = {t for t in tables if placement.get(t) is Placement.DISTRIBUTED}
    found += [f"{t}: {SHARD_KEY} is not NOT NULL" for t in sorted(distributed) if not tables[t]]
    keyed = set()
    for r in await conn.execute(_UNIQUE_INDEXES):
        keyed |= {r.name} if r.primary else set()
        if r.name in distributed and r.first_column != SHARD_KEY:
            what = "primary key" if r.primary else "unique index"
            found.append(f"{r.name}: {what} {r.index} does not lead with {SHARD_KEY}")
    found += [f"{t}: no primary key" for t in sorted(distributed - keyed)]
    for r in await conn.execute(_FOREIGN_KEYS, {"key": SHARD_KEY}):
        source, target = placement.get(r.source), placement.get(r.target)
        if source and target and target not in MAY_REFERENCE[source]:
            found.append(f"{r.source}: {r.name}, {source}, points to {target} {r.target}")
        if target is Placement.DISTRIBUTED and not r.carries_key:
            found.append(f"{r.source}: {r.name} to {r.target} does not carry {SHARD_KEY}")
    return sorted(found)


async def test_the_schema_can_be_distributed_by_utility(conn: AsyncConnection) -> None:
    assert await violations(conn, PLACEMENT) == []


async def test_a_table_that_breaks_a_rule_is_named(conn: AsyncConnection) -> None:
    for statement in (
        "CREATE TABLE t_parent (biller_id integer NOT NULL, id text, PRIMARY KEY (biller_id, id))",
        "CREATE TABLE t_by_id (biller_id integer, id text PRIMARY KEY, code text UNIQUE,"
        " other integer, parent text, FOREIGN KEY (other, parent) REFERENCES t_parent)",
        "CREATE UNIQUE INDEX t_by_id_lower ON t_by_id (biller_id, lower(code))",
        "CREATE UNIQUE INDEX t_by_id_expression ON t_by_id (lower(code), biller_id)",
        "CREATE TABLE t_keyless (biller_id integer NOT NULL)",
        "CREATE TABLE t_local (biller_id integer, parent text,"
        " FOREIGN KEY (biller_id, parent) REFERENCES t_parent)",
        "CREATE TABLE t_unplaced ()",
    ):
        await conn.execute(text(statement))
    placement = {**PLACEMENT, "t_gone": Placement.REFERENCE, "t_local": Placement.LOCAL}
    placement |= dict.fromkeys(("t_parent", "t_by_id", "t_keyless"), Placement.DISTRIBUTED)
    assert await violations(conn, placement) == [
        "t_by_id: biller_id is not NOT NULL",
        "t_by_id: primary key t_by_id_pkey does not lead with biller_id",
        "t_by_id: t_by_id_other_parent_fkey to t_parent does not carry biller_id",
        "t_by_id: unique index t_by_id_code_key does not lead with biller_id",
        "t_by_id: unique index t_by_id_expression does not lead with biller_id",
        "t_gone: placed, but no such table",
        "t_keyless: no primary key",
        "t_local: t_local_biller_id_parent_fkey, local, points to distributed t_parent",
        "t_unplaced: not placed",
    ]


def test_the_document_places_every_table_as_the_code_does() -> None:
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \|", DOC.read_text(encoding="utf-8"), re.M)
    assert sorted(rows) == sorted((t, p.value) for t, p in PLACEMENT.items())
