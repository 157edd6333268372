"""Calling a remote biller over the biller protocol, and knowing when we do not know.

Every call is signed, carries a fresh serial, and runs under the biller's
connect timeout and a hard total timeout. Whatever keeps us from reading a
verified, well-formed answer to *this* request — a timeout, a reset
connection, an HTTP error page, a bad signature, an unparseable body, a reply
compressed or over 64 KiB (``common.outgoing``) — raises ``BillerUnreachable``: for a
charge, that means the outcome is unknown.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from utilipay.billers.connection import RemoteConnection
from utilipay.billers.protocol.codes import ProtocolError
from utilipay.billers.protocol.framing import MAX_MESSAGE, frame, unframe
from utilipay.billers.protocol.messages import Body, Head, Message, parse_response, render
from utilipay.billers.schemas import Biller
from utilipay.clock import Clock
from utilipay.common.outgoing import ReplyRefused, exchange, http_client
from utilipay.ids import new_id

CONTENT_TYPE = "application/xml; charset=utf-8"


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One protocol call, for ``biller_calls`` (see ``billers.calls``)."""

    trancode: str
    serial: str
    outcome: str  # the answer's code, or UNKNOWN
    detail: str
    at: datetime
    duration_ms: int


class BillerUnreachable(Exception):
    def __init__(self, reason: str, record: CallRecord) -> None:
        super().__init__(reason)
        self.reason = reason
        self.record = record


@dataclass(frozen=True, slots=True)
class Answer:
    message: Message
    record: CallRecord


class RemoteBiller:
    """Signed calls to one remote biller over a pooled HTTP client."""

    def __init__(self, biller: Biller, http: httpx.AsyncClient, clock: Clock) -> None:
        if biller.remote is None:
            raise ValueError(f"biller {biller.code} is not remote")
        self.biller = biller
        self.connection: RemoteConnection = biller.remote
        self.http = http
        self.clock = clock

    async def call(self, body: Body) -> Answer:
        trancode = body.trancode
        head = Head(
            trancode=trancode,
            biller=self.biller.code,
            serial=new_id(trancode[0].upper()),
            time=self.clock.now(),
            platform=self.connection.platform,
        )
        payload = frame(self.connection.sign_type, self.connection.key, render(head, body))
        started_at, started = self.clock.now(), time.monotonic()

        def record(outcome: str, detail: str) -> CallRecord:
            duration = int((time.monotonic() - started) * 1000)
            return CallRecord(trancode, head.serial, outcome, detail[:500], started_at, duration)

        try:
            async with asyncio.timeout(self.connection.total_timeout):
                raw = await self._post(self.connection.url(trancode), payload)
        except TimeoutError:
            reason = f"no answer within {self.connection.total_timeout:g} s"
            raise BillerUnreachable(reason, record("UNKNOWN", reason)) from None
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise BillerUnreachable(reason, record("UNKNOWN", reason)) from None
        except ReplyRefused as exc:
            raise BillerUnreachable(exc.reason, record("UNKNOWN", exc.reason)) from None
        try:
            xml = unframe(self.connection.sign_type, self.connection.accepted_keys, raw)
            message = parse_response(xml, trancode)
        except ProtocolError as exc:
            reason = f"unusable answer ({exc.code}): {exc.detail}"
            raise BillerUnreachable(reason, record("UNKNOWN", reason)) from None
        if (message.head.serial, message.head.biller) != (head.serial, head.biller):
            reason = f"answer to another request (serial {message.head.serial})"
            raise BillerUnreachable(reason, record("UNKNOWN", reason))
        return Answer(message, record(str(message.head.code), message.head.msg))

    async def _post(self, url: str, payload: bytes) -> bytes:
        request = self.http.build_request(
            "POST", url, content=payload, headers={"Content-Type": CONTENT_TYPE}
        )
        reply = await exchange(self.http, request, limit=MAX_MESSAGE)
        if reply.status_code != 200:
            raise ReplyRefused(f"HTTP {reply.status_code} from the biller")
        return reply.body


class RemoteBillers:
    """One pooled HTTP client per remote biller, rebuilt when its settings change."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._clients: dict[int, tuple[RemoteConnection, httpx.AsyncClient]] = {}
        self._retired: list[httpx.AsyncClient] = []

    def get(self, biller: Biller) -> RemoteBiller:
        if biller.remote is None:
            raise ValueError(f"biller {biller.code} is not remote")
        current = self._clients.get(biller.id)
        if current is None or current[0] != biller.remote:
            if current is not None:
                self._retired.append(current[1])  # calls in flight may still use it
            settings = biller.remote
            client = http_client(settings.total_timeout, settings.connect_timeout)
            self._clients[biller.id] = current = (biller.remote, client)
        return RemoteBiller(biller, current[1], self.clock)

    async def close(self) -> None:
        for client in [c for _, c in self._clients.values()] + self._retired:
            await client.aclose()
        self._clients.clear()
        self._retired.clear()
