"""Rows written a batch at a time: one statement over arrays, not one a row.

A batch of changes is written in ONE statement (``INSERT … SELECT … FROM unnest(…)``,
``UPDATE … FROM unnest(…)``): an ``executemany`` is pipelined in one round trip, but
PostgreSQL still binds, starts and ends an executor for every row, which cost more than
the row's own change (BENCHMARKS.md, "Issue 15: senders, the database's share"). Each
array is cast to its column's type, so a NULL needs no guess. The background senders
(auto-pay's debits, webhooks, messages) record their batches so.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, TextClause, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection


class Columns(dict[str, list[object]]):
    """The rows of one set-based statement: a list of values for each column's name."""

    def add(self, **row: object) -> None:
        for name, value in row.items():
            self.setdefault(name, []).append(value)


async def insert_rows(conn: AsyncConnection, table: Table, rows: Columns) -> None:
    """``rows`` (named as ``table``'s columns) inserted in one statement."""
    if rows:
        await conn.execute(_insert(table, tuple(rows), conn.dialect), rows)


async def update_rows(
    conn: AsyncConnection, table: Table, keys: Sequence[str], rows: Columns, *,
    fence: str = "", where: str = "",
) -> set[tuple[object, ...]]:  # fmt: skip
    """Each row of ``table`` at ``keys`` set to the other columns of ``rows``, in one
    statement; the keys of the rows updated. ``fence``: a column a row is updated only
    while it still holds the value ``rows`` give for it (a claim's attempt), and which is
    not set; ``where``: a condition on the row as it was (``t``), e.g. still open."""
    if not rows:
        return set()
    statement = _update(table, tuple(keys), tuple(rows), fence, where, conn.dialect)
    return {tuple(row) for row in await conn.execute(statement, rows)}


def _arrays(table: Table, names: Sequence[str], dialect: Dialect) -> str:
    return ", ".join(
        f"CAST(:{name} AS {table.c[name].type.compile(dialect=dialect)}[])" for name in names
    )


_statements: dict[tuple[object, ...], TextClause] = {}  # made once a process each


def _insert(table: Table, names: tuple[str, ...], dialect: Dialect) -> TextClause:
    key = ("insert", table.name, names)
    if key not in _statements:
        _statements[key] = text(
            f"INSERT INTO {table.name} ({', '.join(names)})"  # noqa: S608 (names: the table's)
            f" SELECT * FROM unnest({_arrays(table, names, dialect)})"
        )
    return _statements[key]


def _update(
    table: Table, keys: tuple[str, ...], names: tuple[str, ...], fence: str, where: str,
    dialect: Dialect,
) -> TextClause:  # fmt: skip
    key = ("update", table.name, keys, names, fence, where)
    if key not in _statements:
        sets = ", ".join(f"{n} = v.{n}" for n in names if n not in keys and n != fence)
        fenced = (*keys, fence) if fence else keys
        matches = " AND ".join([*(f"t.{n} = v.{n}" for n in fenced), *([where] if where else [])])
        _statements[key] = text(
            f"UPDATE {table.name} t SET {sets}"  # noqa: S608 (names: the table's columns)
            f"  FROM unnest({_arrays(table, names, dialect)}) AS v ({', '.join(names)})"
            f" WHERE {matches} RETURNING {', '.join(f't.{k}' for k in keys)}"
        )
    return _statements[key]
