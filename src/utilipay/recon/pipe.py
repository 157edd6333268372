"""A book streamed from PostgreSQL's ``COPY`` into DuckDB through a named pipe.

Read through a file, a book was formatted by PostgreSQL, written to disk by the run and
parsed by DuckDB, one after the other. Through a pipe DuckDB parses (in a thread, off the
event loop) what PostgreSQL sends while PostgreSQL formats the rest: on two cores the
read takes about the longer of the two rather than their sum, and nothing goes to disk.

The one hazard of a pipe is a side left waiting for the other: opening its write end
waits for a reader, so a reader that fails before it opens it is answered by opening
it ourselves; a reader that fails later closes its end and the writer's next write
fails (EPIPE). Either way the reader's error is the one raised.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any

Sink = Callable[[bytes], Awaitable[None]]


async def stream(
    pipe: Path, send: Callable[[Sink], Awaitable[None]], receive: Callable[[Path], None]
) -> None:
    """``receive(pipe)`` (blocking: DuckDB reading the pipe to its end) in a thread while
    ``send`` writes the book into it, chunk by chunk, from the event loop."""
    os.mkfifo(pipe, 0o600)
    try:
        reading = asyncio.ensure_future(asyncio.to_thread(receive, pipe))
        writer = await _writer(await _write_end(pipe, reading))
        try:
            await send(partial(_write, writer))
        except ConnectionError:  # a broken pipe: the reader stopped, its error says why
            writer.close()
            await reading
            raise
        except BaseException:
            writer.close()
            with suppress(Exception):  # what the reader made of a cut-off book is moot
                await reading
            raise
        writer.close()  # the reader's end of file (nothing is left unwritten: see _writer)
        await reading
    finally:
        os.unlink(pipe)


async def _writer(fd: int) -> asyncio.StreamWriter:
    # Written from the event loop, not a thread per chunk: handing each chunk to a thread
    # (what asyncpg does with a file) cost, measured alone, more CPU than DuckDB's parse.
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(fd, "wb", buffering=0)
    )
    # each chunk fully in the pipe before the next is asked for: the pipe's own buffer is
    # the only one, and closing the writer leaves nothing behind to flush
    transport.set_write_buffer_limits(high=0)
    return asyncio.StreamWriter(transport, protocol, None, loop)


async def _write(writer: asyncio.StreamWriter, chunk: bytes) -> None:
    writer.write(chunk)
    await writer.drain()  # until the pipe took it all: DuckDB sets the pace


async def _write_end(pipe: Path, reading: asyncio.Future[None]) -> int:
    opening = asyncio.ensure_future(asyncio.to_thread(os.open, pipe, os.O_WRONLY))
    either: set[asyncio.Future[Any]] = {opening, reading}
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    if opening.done():
        return opening.result()
    # the reader ended before it opened the pipe: a reader of ours lets the open return
    release = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.close(await opening)
    finally:
        os.close(release)
    await reading  # raises the reader's error
    raise RuntimeError(f"{pipe} was never read")
