"""The simulator over HTTP: ``POST <base>/query|charge|confirm|refund`` (Starlette), with faults.

Every request draws its fault (``faults.py``) before anything is read into the
books; an oversize body is refused (8002) before it is parsed, or faulted.
Drawn faults act as they would in real life:

- ``timeout``: the reply waits ``timeout_delay``; half the time the request is
  then acted on (a delayed delivery: a refund may get there first), otherwise
  it is answered 9999 unprocessed;
- ``drop_response``: processed and committed, then the reply is lost: the client
  sees the connection close mid-reply (``ReplyDropped`` under httpx's ASGITransport);
- ``error``: 9999, nothing processed;
- ``slow``: answered correctly after a short delay;
- ``duplicate``: processed twice (the network delivered it twice); the second
  answer is the one sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from utilipay.billers.protocol.codes import Code, ProtocolError
from utilipay.billers.protocol.framing import MAX_MESSAGE
from utilipay.billers.protocol.messages import Trancode
from utilipay.clock import Clock
from utilipay.db.engine import create_engine
from utilipay.http.body import read_limited
from utilipay_tools.billersim.faults import FaultKind, Faults
from utilipay_tools.billersim.simulator import SimConfig, Simulator

XML = "application/xml; charset=utf-8"


class ReplyDropped(httpx.RemoteProtocolError):
    """The ``drop_response`` fault: the request was processed, its reply is lost on the way.

    An httpx transport error, so a client on httpx's ASGITransport (which hands it on
    as it is) sees what a client over a real network sees.
    """


class _DroppedReply(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A server answers 500 for an app that fails before starting its reply; once the
        # reply has started it can only close the connection, which is the fault.
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ReplyDropped("billersim dropped the reply (drop_response fault)")


def _too_large() -> ProtocolError:
    return ProtocolError(Code.MALFORMED, f"a body over {MAX_MESSAGE} bytes is refused")


async def _with_fault(
    sim: Simulator, faults: Faults, trancode: Trancode, body: bytes
) -> bytes | None:
    """The reply to send, or None when it is lost."""
    fault = faults.draw()
    if fault is None:
        return await sim.handle(trancode, body)
    await asyncio.sleep(fault.delay)
    match fault.kind:
        case FaultKind.ERROR:
            return await sim.handle(trancode, body, busy=True)
        case FaultKind.TIMEOUT:
            return await sim.handle(trancode, body, busy=not fault.processed)
        case FaultKind.DUPLICATE:
            await sim.handle(trancode, body)
            return await sim.handle(trancode, body)
        case FaultKind.DROP_RESPONSE:
            await sim.handle(trancode, body)
            return None
        case FaultKind.SLOW:
            return await sim.handle(trancode, body)


def create_app(
    config: SimConfig,
    database: AsyncEngine | URL,
    *,
    clock: Clock | None = None,
    faults: Faults | None = None,
    base: str = "",
) -> Starlette:
    """The simulator's ASGI app.

    ``database``: an engine of the caller's event loop (in-process use, e.g. httpx's
    ASGITransport; the caller prepares the schema), or a database URL, for which the
    app makes its own engine and prepares the schema at start-up, in the server's loop
    (asyncpg connections belong to the loop that opened them).
    """
    drawn = faults or Faults()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if isinstance(database, AsyncEngine):
            yield
            return
        engine = create_engine(database)
        app.state.simulator = Simulator(engine, config, clock)
        await app.state.simulator.prepare()
        try:
            yield
        finally:
            await engine.dispose()

    def endpoint(trancode: Trancode) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            sim: Simulator = request.app.state.simulator
            try:
                body = await read_limited(request, MAX_MESSAGE, _too_large)
            except ProtocolError as refused:
                return Response(sim.refuse(trancode, refused), media_type=XML)
            except ClientDisconnect:  # the caller gave up before sending it all: nothing read
                return Response(status_code=400)
            reply = await _with_fault(sim, drawn, trancode, body)
            return _DroppedReply() if reply is None else Response(reply, media_type=XML)

        return serve

    routes = [Route(f"{base}/{t.value}", endpoint(t), methods=["POST"]) for t in Trancode]
    app = Starlette(routes=routes, lifespan=lifespan)
    if isinstance(database, AsyncEngine):
        app.state.simulator = Simulator(database, config, clock)
    return app


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ReplyDropped))


def quiet_dropped_replies() -> None:
    """Keep uvicorn from logging a traceback for every reply the ``drop_response`` fault drops."""
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
