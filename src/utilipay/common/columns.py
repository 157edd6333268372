"""Rows gathered as one list a column: the arrays a set-based statement takes.

A batch of changes is written in ONE statement over arrays (``UPDATE … FROM unnest(…)``,
``INSERT … SELECT … FROM unnest(…)``), not a statement per row: an ``executemany`` is
pipelined in one round trip, but PostgreSQL still binds, starts and ends an executor for
every row, which cost more than the row's own change (BENCHMARKS.md, "Issue 15: senders,
the database's share"). Each array is cast to its column's type in the statement, so a
NULL needs no guess.
"""

from __future__ import annotations


class Columns(dict[str, list[object]]):
    """The parameters of one set-based statement: a list of values for each name."""

    def add(self, **row: object) -> None:
        for name, value in row.items():
            self.setdefault(name, []).append(value)
