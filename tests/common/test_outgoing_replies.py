"""Replies to the hub's own calls cost what their bytes on the wire cost, never more: a gzip
bomb from a utility, a head-end, a channel or a gateway is refused unread, and a reply
past its limit is refused part-read. Real servers on real sockets; memory measured."""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from utilipay.autopay import channel_debits
from utilipay.billers import service as billers_service
from utilipay.billers.protocol.framing import SignType
from utilipay.billers.protocol.messages import QueryRequest
from utilipay.billers.remote import BillerUnreachable, RemoteBillers
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.billers.service import RemoteSettings
from utilipay.channels.schemas import Channel, ChannelStatus
from utilipay.clock import FrozenClock
from utilipay.common import outgoing
from utilipay.headend import calls, delivery
from utilipay.headend.commands import CommandStatus, MeterCommand
from utilipay.headend.config import HeadEnd
from utilipay.headend.wire import Action
from utilipay.notify.providers.sms import SmsGateway
from utilipay.notify.schemas import Notification
from utilipay.web.server import ServerThread
from utilipay.webhooks import service as webhooks

INFLATED = 100 * 1024 * 1024  # what the bomb becomes: 100 MiB of zeros
PEAK = 8 * 1024 * 1024  # what reading a refused reply may cost, at most
SECRET = "outgoing-secret-0123456789"


def gzip_bomb(inflated: int) -> bytes:
    """``inflated`` zero bytes, gzipped a MiB at a time (about a thousandth of the size)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1024 * 1024)
    parts = [packer.compress(zeros) for _ in range(inflated // len(zeros))]
    return b"".join([*parts, packer.flush()])


@dataclass
class Server:
    url: str
    asked: list[str | None] = field(default_factory=list)  # each request's Accept-Encoding


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(INFLATED)


@pytest.fixture
def server(bomb: bytes) -> Iterator[Server]:
    """Answers every POST and GET with the bomb, compressed whatever the client asked for;
    ``/flood/…`` with 10 MiB as they are, chunked, no length said."""
    seen: list[str | None] = []

    async def gzipped(request: Request) -> Response:
        seen.append(request.headers.get("accept-encoding"))
        return Response(bomb, headers={"Content-Encoding": "gzip"}, media_type="application/json")

    async def flood(request: Request) -> StreamingResponse:
        seen.append(request.headers.get("accept-encoding"))

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(160):
                yield bytes(64 * 1024)

        return StreamingResponse(chunks(), media_type="application/json")

    app = Starlette(routes=[Route("/flood/{rest:path}", flood, methods=["GET", "POST"]),
                            Route("/{rest:path}", gzipped, methods=["GET", "POST"])])  # fmt: skip
    with ServerThread(app) as url:
        yield Server(url, seen)


async def peak_of(call: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
    """What ``call`` returns (or raises) and the most memory it held at once."""
    tracemalloc.start()
    try:
        try:
            result = await call()
        except Exception as exc:  # the refusal is the result
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_a_utilitys_gzip_bomb_is_refused_unread(
    engine: AsyncEngine, clock: FrozenClock, server: Server, bomb: bytes
) -> None:
    async with engine.begin() as conn:
        biller = await billers_service.add_biller(
            conn, clock, code="BOMBWATER", name="炸弹水务", category=Category.WATER,
            mode=IntegrationMode.REMOTE, account_rule=r"[0-9]{10}",
            remote=RemoteSettings(url=server.url, key=SECRET, sign_type=SignType.HMAC_SHA256,
                                  total_timeout_ms=10000),
            actor="test",
        )  # fmt: skip
    billers = RemoteBillers(clock)
    try:
        remote = billers.get(biller)
        refused, peak = await peak_of(lambda: remote.call(QueryRequest("0100000001")))
    finally:
        await billers.close()
    assert len(bomb) < 200 * 1024
    assert isinstance(refused, BillerUnreachable)
    assert refused.reason.startswith("a compressed reply (Content-Encoding: gzip) refused unread")
    assert refused.record.outcome == "UNKNOWN"  # for a charge: the outcome is not known
    assert peak < PEAK, f"{peak:,} bytes held to refuse a {len(bomb):,}-byte reply"
    assert server.asked == ["identity"]


def head_end(url: str) -> HeadEnd:
    return HeadEnd(1, url, SECRET, None, 1.0, 10.0, timedelta(hours=1))


def command(clock: FrozenClock) -> MeterCommand:
    return MeterCommand(
        biller_id=1, id="MC01TEST", meter_id="M-1", account_no="0100000001",
        action=Action.DISCONNECT, sequence=1, decision_key="cut:0100000001:1:M-1",
        reason="PREPAID_CUT", status=CommandStatus.PENDING, attempts=0, next_attempt_at=None,
        relay=None, detail=None, decided_at=clock.now(), sent_at=None, executed_at=None,
        finished_at=None, overdue_at=None,
    )  # fmt: skip


def channel(url: str) -> Channel:
    return Channel(1, "WECHAT", "微信支付", SECRET, None, f"{url}/webhooks",
                   ChannelStatus.ACTIVE, 1, debit_url=f"{url}/debits")  # fmt: skip


def text_message(clock: FrozenClock) -> Notification:
    return Notification(
        id="N01TEST", biller_id=1, account_no="0100000001", template="prepaid.low",
        recipient_kind="sms", channel_id=None, address="13800138000", language="zh-CN",
        params={}, subject={"zh-CN": "余额不足"}, text={"zh-CN": "余额不足"}, status="PENDING",
        attempts=0, created_at=clock.now(), sent_at=None,
    )  # fmt: skip


def problem_of(result: Any) -> str | None:
    """Why each client's call found no usable reply, in that client's own terms."""
    if isinstance(result, calls.Call):
        return result.problem
    if isinstance(result, channel_debits.Unanswered):
        return result.reason
    if isinstance(result, webhooks.Sent):
        return result.error
    if isinstance(result, outgoing.ReplyRefused):  # the SMS gateway's send raises it
        return result.reason
    raise AssertionError(f"a reply was used: {result!r}")


CLIENTS: dict[str, Callable[[Any, str, FrozenClock], Awaitable[Any]]] = {
    "head-end": lambda http, url, clock: calls.send(http, head_end(url), command(clock),
                                                    clock.now()),
    "channel debit": lambda http, url, clock: channel_debits.send(
        http, channel(url), {"debit_id": "D01TEST"}, clock.now()),
    "webhook": lambda http, url, clock: webhooks.post_signed(
        http, channel(url), f"{url}/webhooks", b"{}", clock.now()),
    "sms gateway": lambda http, url, clock: SmsGateway(http, f"{url}/sms", SECRET).send(
        text_message(clock), clock.now()),
}  # fmt: skip
# the debit and webhook senders' clients are aiohttp's (common/outgoing_aiohttp.py), the
# others httpx's (the message providers get the worker's, made as this one)
MAKERS: dict[str, Callable[[], Any]] = {
    "head-end": delivery.http_client, "channel debit": channel_debits.http_client,
    "webhook": webhooks.http_client,
    "sms gateway": lambda: outgoing.http_client(webhooks.TIMEOUT, 3.0)}  # fmt: skip


@pytest.mark.parametrize("name", list(CLIENTS))
async def test_every_outgoing_client_refuses_a_bomb_unread_and_a_flood_part_read(
    name: str, server: Server, clock: FrozenClock
) -> None:
    http = MAKERS[name]()
    try:
        bombed, bomb_peak = await peak_of(lambda: CLIENTS[name](http, server.url, clock))
        flooded, flood_peak = await peak_of(
            lambda: CLIENTS[name](http, f"{server.url}/flood", clock)
        )
    finally:
        await http.aclose()
    assert (problem_of(bombed) or "").startswith("a compressed reply (Content-Encoding: gzip)")
    assert problem_of(flooded) == "a reply over 65536 bytes, refused part-read"
    assert bomb_peak < PEAK and flood_peak < PEAK, (bomb_peak, flood_peak)
    assert server.asked == ["identity", "identity"]


async def test_an_honest_reply_is_read_whole(server: Server) -> None:
    async def plain(request: Request) -> Response:
        return Response(b'{"ok": true}', media_type="application/json")

    with ServerThread(Starlette(routes=[Route("/", plain)])) as url:
        http = outgoing.http_client(5.0, 1.0)
        try:
            reply = await outgoing.exchange(http, http.build_request("GET", url), limit=12)
        finally:
            await http.aclose()
    assert (reply.status_code, reply.body, reply.is_success) == (200, b'{"ok": true}', True)
