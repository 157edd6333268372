"""A book through a named pipe: all of it arrives, and a side that fails never leaves the
other waiting (each test would hang, not pass, if it did: the timeout fails it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import duckdb
import pytest

from utilipay.recon import pipe

COLUMNS = {"a": "BIGINT", "o": "VARCHAR"}
ROWS = 200_000  # several times a pipe's buffer: the writer waits for the reader


async def _send_rows(out: pipe.Sink) -> None:
    for start in range(0, ROWS, 10_000):
        await out("".join(f"{i},O{i}\n" for i in range(start, start + 10_000)).encode())


def _streamed(
    path: Path,
    receive: Callable[[Path], None],
    send: Callable[[pipe.Sink], Awaitable[None]] = _send_rows,
) -> None:
    asyncio.run(asyncio.wait_for(pipe.stream(path, send, receive), timeout=30))


def test_duckdb_reads_the_whole_book_while_it_is_sent(tmp_path: Path) -> None:
    db = duckdb.connect()
    got: list[tuple[int, int]] = []

    def receive(path: Path) -> None:
        query = "SELECT count(*), sum(a) FROM read_csv(?, header = false, columns = ?)"
        got.extend(db.execute(query, [str(path), COLUMNS]).fetchall())

    _streamed(tmp_path / "book.csv", receive)
    assert got == [(ROWS, ROWS * (ROWS - 1) // 2)]
    assert list(tmp_path.iterdir()) == []  # the pipe goes with the read


def test_a_reader_that_fails_before_it_opens_the_pipe_is_the_error(tmp_path: Path) -> None:
    def receive(path: Path) -> None:
        raise ValueError("no such table")

    with pytest.raises(ValueError, match="no such table"):
        _streamed(tmp_path / "book.csv", receive)
    assert list(tmp_path.iterdir()) == []


def test_a_reader_that_stops_halfway_is_the_error_not_the_broken_pipe(tmp_path: Path) -> None:
    def receive(path: Path) -> None:
        with path.open("rb") as book:
            book.read(1000)
        raise ValueError("bad line 12")

    with pytest.raises(ValueError, match="bad line 12"):
        _streamed(tmp_path / "book.csv", receive)


def test_a_sender_that_fails_is_the_error_and_the_reader_ends(tmp_path: Path) -> None:
    read: list[int] = []

    def receive(path: Path) -> None:
        read.append(len(path.read_bytes()))

    async def send(out: pipe.Sink) -> None:
        await out(b"1,O1\n" * 1000)
        raise asyncpg.ConnectionDoesNotExistError("server closed the connection")

    with pytest.raises(asyncpg.ConnectionDoesNotExistError, match="server closed"):
        _streamed(tmp_path / "book.csv", receive, send)
    assert read == [5000]  # the reader saw the end of what was sent, and returned
