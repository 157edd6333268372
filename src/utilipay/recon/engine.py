"""The matching engine: the day's three books side by side in DuckDB, every record classified.

The hub's payments and the statement lines arrive as CSV files (PostgreSQL's
``COPY … TO STDOUT`` straight to disk, read back by DuckDB's CSV reader: no
extension, nothing downloaded) or, for the benchmark, are generated inside
DuckDB. Matching is set-based: one hash join per pair of books, one pass to
classify (classify.py). DuckDB spills to the run's temporary directory when
the day does not fit in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import duckdb

from utilipay.recon import classify
from utilipay.recon.carry import Window

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

# Column types of each table, for reading its CSV without guessing.
COLUMNS: dict[str, dict[str, str]] = {
    "hub": {"biller_id": "INTEGER", "payment_id": "VARCHAR", "channel_code": "VARCHAR",
            "order_id": "VARCHAR", "amount": "BIGINT", "status": "VARCHAR",
            "ts": "TIMESTAMP", "day": "INTEGER", "edge": "INTEGER"},
    "chan": {"channel_code": "VARCHAR", "order_id": "VARCHAR", "amount": "BIGINT",
             "status": "VARCHAR", "ts": "TIMESTAMP", "day": "INTEGER", "edge": "INTEGER",
             "line": "VARCHAR"},
    "util": {"biller_id": "INTEGER", "payment_id": "VARCHAR", "amount": "BIGINT",
             "status": "VARCHAR", "ts": "TIMESTAMP", "day": "INTEGER", "edge": "INTEGER",
             "line": "VARCHAR"},
}  # fmt: skip

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
        self.db = duckdb.connect(
            config={
                "threads": threads,
                "temp_directory": str(workdir / "spill"),
                # everything the engine uses is built in; never fetch an extension
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "preserve_insertion_order": False,
            }
        )
        self.db.execute("SET enable_progress_bar = false")  # the CLI draws its own
        self.db.execute(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def load_csv(self, table: str, path: Path) -> int:
        """Append a CSV file (no header, NULL as an empty field) to ``table``."""
        if path.stat().st_size == 0:
            return 0
        before = self.count(table)
        self.db.execute(
            f"INSERT INTO {table} SELECT * FROM read_csv(?, header = false, "  # noqa: S608
            f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', nullstr = '', "
            f"columns = {COLUMNS[table]!r})",
            [str(path)],
        )
        return self.count(table) - before

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
        found = self.db.execute("SELECT class, count(*) FROM rec GROUP BY class").fetchall()
        return {str(name): int(n) for name, n in found}

    def export_items(self, run_id: int, path: Path) -> None:
        """The records to keep as CSV in recon_items' column order, instants marked UTC.

        Matched records are counted (the run's counts), not kept: at the reference
        platform's 60 M payments a day they would be 60 M rows a day of nothing to do,
        and copying them into PostgreSQL was most of a run's time (8.5 s of 12.4 s at a
        million). A record kept keeps its number, so numbers have gaps where matches were.
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
