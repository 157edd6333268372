"""Each response in one write (``web/protocol.py``): the writes of one loop turn reach the
socket together, and HTTP over the protocol still answers as HTTP must."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from utilipay.web.protocol import FLUSH_AT, GatheringTransport
from utilipay.web.server import ServerThread


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.events: list[str] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))
        self.events.append("write")

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True
        self.events.append("close")

    def get_write_buffer_size(self) -> int:
        return 0


async def test_the_writes_of_one_turn_are_one_write_at_its_end() -> None:
    real = RecordingTransport()
    gathering = GatheringTransport(real, asyncio.get_running_loop())
    gathering.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    gathering.write(memoryview(b"{}"))
    assert real.writes == []  # nothing before the turn ends
    assert gathering.get_write_buffer_size() == 40
    await asyncio.sleep(0)
    assert real.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    gathering.write(b"next")
    await asyncio.sleep(0)
    assert real.writes[1:] == [b"next"]


async def test_a_stream_goes_out_as_it_is_written_past_64_kib() -> None:
    real = RecordingTransport()
    gathering = GatheringTransport(real, asyncio.get_running_loop())
    gathering.write(b"head")
    gathering.write(bytes(FLUSH_AT - 5))
    assert real.writes == []  # 64 KiB less a byte: still gathered
    gathering.write(b"x")
    assert real.writes == [b"head" + bytes(FLUSH_AT - 5) + b"x"]  # at once, whole
    for _ in range(3):
        gathering.write(bytes(FLUSH_AT))
    assert len(real.writes) == 4 and gathering.get_write_buffer_size() == 0
    await asyncio.sleep(0)
    assert len(real.writes) == 4  # nothing left for the turn's end


async def test_a_close_sends_what_was_written_first() -> None:
    real = RecordingTransport()
    gathering = GatheringTransport(real, asyncio.get_running_loop())
    gathering.write(b"head")
    gathering.write(b"body")
    gathering.close()
    assert real.events == ["write", "close"] and real.writes == [b"headbody"]
    await asyncio.sleep(0)
    assert real.writes == [b"headbody"]  # not sent twice


async def test_nothing_is_written_to_a_connection_the_client_left() -> None:
    real = RecordingTransport()
    gathering = GatheringTransport(real, asyncio.get_running_loop())
    gathering.write(b"late")
    real.closed = True  # the client hung up within the turn
    await asyncio.sleep(0)
    assert real.writes == []


async def _json(_: Request) -> Response:
    return JSONResponse({"ok": True})


async def _chunks(_: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for n in range(3):
            await asyncio.sleep(0.01)  # each chunk on a turn of its own
            yield f"chunk{n};".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


async def _empty(_: Request) -> Response:
    return Response(status_code=204)


APP = Starlette(
    routes=[
        Route("/json", _json, methods=["GET", "HEAD"]),
        Route("/chunks", _chunks),
        Route("/empty", _empty),
    ]
)


def _exchange(sock: socket.socket, request: bytes, until: bytes) -> bytes:
    sock.sendall(request)
    received = b""
    while until not in received:
        data = sock.recv(65536)
        if not data:
            break
        received += data
    return received


@pytest.fixture(scope="module")
def server() -> Any:
    with ServerThread(APP) as base_url:
        yield base_url.removeprefix("http://").split(":")


def test_keep_alive_requests_on_one_connection_are_each_answered(server: list[str]) -> None:
    host, port = server
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        for _ in range(3):
            answer = _exchange(sock, b"GET /json HTTP/1.1\r\nhost: x\r\n\r\n", b'{"ok":true}')
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
            assert answer.endswith(b'\r\n\r\n{"ok":true}')
        head = _exchange(sock, b"HEAD /json HTTP/1.1\r\nhost: x\r\n\r\n", b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
        empty = _exchange(sock, b"GET /empty HTTP/1.1\r\nhost: x\r\n\r\n", b"\r\n\r\n")
        assert empty.startswith(b"HTTP/1.1 204 No Content\r\n") and empty.endswith(b"\r\n\r\n")


def test_a_streamed_body_arrives_whole_and_in_order(server: list[str]) -> None:
    host, port = server
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        answer = _exchange(sock, b"GET /chunks HTTP/1.1\r\nhost: x\r\n\r\n", b"0\r\n\r\n")
    body = answer.split(b"\r\n\r\n", 1)[1]
    assert b"chunk0;" in body and body.index(b"chunk0;") < body.index(b"chunk1;") < body.index(
        b"chunk2;"
    )
    assert body.endswith(b"0\r\n\r\n")


def test_connection_close_is_answered_then_closed(server: list[str]) -> None:
    host, port = server
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /json HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        received = b""
        while data := sock.recv(65536):
            received += data
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert received.endswith(b'{"ok":true}')  # all of it, then the server closed
