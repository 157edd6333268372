"""uvicorn's HTTP/1.1 protocol, sending each response in one write.

uvicorn's httptools protocol writes a response's head and its body with a write each, and
a write on a TCP socket is a ``send``: two system calls, two packets and two wake-ups of
the client for a response that fits in one (a payment's answer is about 340 bytes).
``HubHttpProtocol`` gives uvicorn a transport that gathers what is written during one turn
of the event loop and sends it as soon as the callbacks running now are done
(``call_soon``), so a response whose head and body are written together goes out in one
``send``. Once 64 KiB are gathered they are sent at once, so a streamed body (a file, an
export) goes out as it is made, its memory bounded and uvicorn's flow control seeing
every chunk. What it saves is measured in BENCHMARKS.md
("One write a response").
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# What a turn may gather before it is sent: more than any answer of the API, less than the
# transport's own high-water mark (64 KiB), so its flow control still pauses a stream.
FLUSH_AT = 64 * 1024


class GatheringTransport(asyncio.Transport):
    """A TCP transport whose writes of one loop turn reach the socket as one write."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._pending_size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))
        self._pending_size += len(data)
        if self._pending_size >= FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Send what was gathered (the loop calls it once the turn's callbacks are done)."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        if not self._transport.is_closing():  # the client left: nothing to send it to
            self._transport.write(data)

    def close(self) -> None:
        self.flush()  # a response written just before, then the close (Connection: close)
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._pending_size = 0
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._pending_size

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()


class HubHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a ``GatheringTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(GatheringTransport(transport, self.loop))
