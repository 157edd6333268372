"""The matching engine: the day's three books side by side in DuckDB, every record classified.

The hub's payments and the statement lines arrive as CSV (PostgreSQL's
``COPY … TO STDOUT`` streamed through a named pipe into DuckDB's CSV reader,
pipe.py: no extension, nothing downloaded) or, for the benchmark, are generated
inside DuckDB. Matching is set-based: one hash join per pair of books, one pass to
classify (classify.py). DuckDB spills to the run's temporary directory when
the day does not fit in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, timedelta
from pathlib import Path

import duckdb

from utilipay.recon import classify
from utilipay.recon.carry import OTHER_DAY, Window

SCHEMA = """
CREATE TABLE hub (biller_id INTEGER, payment_id VARCHAR, channel_code VARCHAR, order_id VARCHAR,
                  amount BIGINT, status VARCHAR, ts TIMESTAMP, day INTEGER, edge INTEGER);
CREATE TABLE chan (channel_code VARCHAR, order_id VARCHAR, amount BIGINT, status VARCHAR,
                   ts TIMESTAMP, day INTEGER, edge INTEGER, line VARCHAR);
CREATE TABLE util (biller_id INTEGER, payment_id VARCHAR, amount BIGINT, status VARCHAR,
                   ts TIMESTAMP, day INTEGER, edge INTEGER, line VARCHAR);
CREATE TABLE three_way (biller_id INTEGER);
CREATE TABLE scope (biller_id INTEGER);
"""

# What PostgreSQL sends of each book (repository.py), column by column, read without
# guessing. It sends stored values only: the day and edge of a record, and a line's
# reference, are derived here (``_DERIVED``), where they cost a fraction of what a
# time zone conversion and a text concatenation per row cost in PostgreSQL.
WIRE: dict[str, dict[str, str]] = {
    "hub": {"biller_id": "INTEGER", "payment_id": "VARCHAR", "channel_code": "VARCHAR",
            "order_id": "VARCHAR", "amount": "BIGINT", "status": "VARCHAR", "ts": "TIMESTAMP"},
    "chan": {"channel_code": "VARCHAR", "order_id": "VARCHAR", "amount": "BIGINT",
             "status": "VARCHAR", "ts": "TIMESTAMP", "day": "INTEGER", "import_id": "BIGINT",
             "line_no": "INTEGER"},
    "util": {"biller_id": "INTEGER", "payment_id": "VARCHAR", "amount": "BIGINT",
             "status": "VARCHAR", "ts": "TIMESTAMP", "day": "INTEGER", "import_id": "BIGINT",
             "line_no": "INTEGER"},
}  # fmt: skip
WIRE["lookup"] = WIRE["hub"]
_EDGE = "CASE WHEN ts >= $end_edge THEN 1 WHEN ts < $start_edge THEN -1 ELSE 0 END"
_LINE = "CAST(import_id AS VARCHAR) || ':' || CAST(line_no AS VARCHAR)"
# Each book's table filled from what was sent. A payment of the window lies within the
# cut-off of D (MAX_CUTOFF is far less than a day), so its Shanghai date is D-1, D or D+1
# by the instants D starts and ends; a payment looked up by its order is of another day.
_DERIVED = {
    "hub": ("hub", "biller_id, payment_id, channel_code, order_id, amount, status, ts, "
            f"CASE WHEN ts < $start THEN -1 WHEN ts >= $end THEN 1 ELSE 0 END, {_EDGE}"),
    "lookup": ("hub", "biller_id, payment_id, channel_code, order_id, amount, status, ts, "
               f"{OTHER_DAY}, 0"),
    "chan": ("chan", f"channel_code, order_id, amount, status, ts, day, {_EDGE}, {_LINE}"),
    "util": ("util", f"biller_id, payment_id, amount, status, ts, day, {_EDGE}, {_LINE}"),
}  # fmt: skip

# A statement's lines kept in Parquet (columnar.COLUMNS) as PostgreSQL sends them for a
# run (repository._LINES): the same filters, the party's key and the import's id constant.
_KEPT = """
SELECT {party}, order_id, amount, status, ts, date_diff('day', $day, business_date) AS day,
       $import_id AS import_id, line_no
  FROM read_parquet($path)
 WHERE order_id IS NOT NULL AND list_contains($statuses, status)
   AND (business_date = $day OR (ts >= $low AND ts < $high))
   AND ($channel IS NULL OR {channel} = $channel)
"""
_KEPT_HUB = """
SELECT * FROM read_parquet($path)
 WHERE ts >= $low AND ts < $high
   AND list_contains($billers, biller_id) AND list_contains($channels, channel_code)
"""
_KEPT_KEYS = {
    "chan": ("$party AS channel_code", "$party"),
    "util": ("CAST($party AS INTEGER) AS biller_id, order_id AS payment_id", "channel_code"),
}


def csv_source(columns: dict[str, str]) -> str:
    """DuckDB's reader of PostgreSQL's CSV (no header, NULL as an empty field) at ``$path``,
    its columns given, never guessed."""
    return (
        "read_csv($path, header = false, auto_detect = false, delim = ',', quote = '\"', "
        f"escape = '\"', nullstr = '', columns = {columns!r})"
    )


def isolated_duckdb(**config: str | int | bool) -> duckdb.DuckDBPyConnection:
    """A DuckDB of its own that never fetches an extension (all the engine uses is built in)."""
    db = duckdb.connect(
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "preserve_insertion_order": False,
            **config,
        }
    )
    db.execute("SET enable_progress_bar = false")  # the CLI draws its own
    return db


# recon_items' columns, in the order the run's CSV carries them to PostgreSQL.
ITEM_COLUMNS = (
    "run_id", "item_no", "class", "action", "channel_code", "order_id", "biller_id",
    "payment_id", "hub_status", "hub_amount", "hub_at", "channel_lines", "channel_amount",
    "channel_at", "channel_line", "utility_lines", "utility_status", "utility_amount",
    "utility_at", "utility_line", "carried_to",
)  # fmt: skip
_UTC = "strftime({0}, '%Y-%m-%d %H:%M:%S.%f') || '+00'"
# A record's number in its run: its row in ``rec`` (numbering in the query that builds
# the table would make DuckDB gather every row in one thread first).
_ITEM_NO = "rowid + 1"


class Matcher:
    """One run's DuckDB: load the books, classify, hand the records back."""

    def __init__(self, window: Window, workdir: Path, *, threads: int = 2) -> None:
        self.window = window
        self.workdir = workdir
        # the window's instants as DuckDB holds the books' times: UTC without a zone
        self._bounds = {
            name: instant.astimezone(UTC).replace(tzinfo=None)
            for name, instant in window.instants().items()
        }
        self.db = isolated_duckdb(threads=threads, temp_directory=str(workdir / "spill"))
        self.db.execute(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def load(self, book: str, path: Path) -> None:
        """Append a book as PostgreSQL's CSV from ``path``, a file or a pipe being written
        (read once, front to back)."""
        self._insert(book, csv_source(WIRE[book]), {"path": str(path)})

    def load_kept(
        self, book: str, path: Path, key: Mapping[str, object], filters: Mapping[str, object]
    ) -> None:
        """Append a statement's lines from the Parquet file kept at its import (columnar.py),
        filtered as PostgreSQL filters them (repository._LINES). ``key``: its ``party``
        (a channel's code, a biller's id) and ``import_id``; ``filters``: the party's
        ``statuses`` and the run's ``channel``."""
        party, channel = _KEPT_KEYS[book]
        source = f"({_KEPT.format(party=party, channel=channel)})"
        window = {name: self._bounds[name] for name in ("low", "high")}
        self._insert(
            book, source, {"path": str(path), "day": self.window.day, **window, **key, **filters}
        )

    def load_payments(self, path: Path, billers: list[int], channels: list[str]) -> None:
        """Append the hub's payments from a day's kept file (payments_file.py), filtered as
        PostgreSQL filters them (repository._HUB)."""
        window = {name: self._bounds[name] for name in ("low", "high")}
        params = {"path": str(path), "billers": billers, "channels": channels, **window}
        self._insert("hub", f"({_KEPT_HUB})", params)

    def _insert(self, book: str, source: str, params: dict[str, object]) -> None:
        table, derived = _DERIVED[book]
        bounds = {name: self._bounds[name] for name in re.findall(r"\$(\w+)", derived)}
        self.db.execute(
            f"INSERT INTO {table} SELECT {derived} FROM {source}",  # noqa: S608
            {**params, **bounds},
        )

    def count(self, table: str) -> int:
        row = self.db.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        return int(row[0]) if row else 0

    def set_ids(self, table: str, ids: Iterable[int]) -> None:
        self.db.execute(f"DELETE FROM {table}")  # noqa: S608
        rows = [(i,) for i in ids]
        if rows:
            self.db.executemany(f"INSERT INTO {table} VALUES (?)", rows)  # noqa: S608

    def unexplained(self) -> tuple[list[tuple[str, str]], list[tuple[int, str]]]:
        """Channel orders and utility lines' payments of the day the loaded hub rows lack."""
        orders: list[tuple[str, str]] = []
        payments: list[tuple[int, str]] = []
        for code, order_id, biller_id, payment_id in self.db.execute(
            classify.UNEXPLAINED
        ).fetchall():
            if payment_id is None:
                orders.append((code, order_id))
            else:
                payments.append((biller_id, payment_id))
        return orders, payments

    def classify(self, *, scoped: bool) -> dict[str, int]:
        """Build the records and their classes; the counts per class."""
        self.db.execute(classify.GROUP_CHANNEL)
        self.db.execute(classify.GROUP_UTILITY)
        next_day = self.window.day + timedelta(days=1)
        self.db.execute(classify.RECORDS, {"scoped": scoped, "next_day": next_day})
        found = self.db.execute("SELECT class, sum(records) FROM rec GROUP BY class").fetchall()
        return {str(name): int(n) for name, n in found}

    def export_items(self, run_id: int, path: Path) -> None:
        """The records to keep as CSV in recon_items' column order, instants marked UTC.

        Matched records are counted (the run's counts), not kept: at the reference
        platform's 60 M payments a day they would be 60 M rows a day of nothing to do,
        and copying them into PostgreSQL was most of a run's time (8.5 s of 12.4 s at a
        million). ``rec`` holds one row counting them (classify.RECORDS), not a row each.
        """
        columns = [
            _UTC.format(c) if c.endswith("_at") else c
            for c in ITEM_COLUMNS
            if c not in {"run_id", "item_no"}
        ]
        self.db.execute(
            f"COPY (SELECT {int(run_id)}, {_ITEM_NO}, {', '.join(columns)} FROM rec"  # noqa: S608
            f" WHERE class <> '{classify.Class.MATCHED}') "
            f"TO '{path}' (FORMAT csv, HEADER false)"
        )
