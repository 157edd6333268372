"""The outermost layer of the HTTP server, in front of FastAPI.

- A body over the limit gets 413 before any of it is parsed (by ``Content-Length``
  when given, or as soon as a streamed body passes the limit). The buffered body
  is handed on in the scope, for the signature check.
- Fast lanes: a few hot routes (``POST /v1/payments``) are called directly,
  skipping FastAPI's routing, dependency solving and middleware stack, which
  cost about a third of a payment's CPU (BENCHMARKS.md). They are the same
  handler functions FastAPI routes and documents; refusals get the same
  problem+json through ``api.failures``.
- Whatever fails below becomes a problem+json 500 (or 503 when the database is
  unreachable), logged as one line (``api.failures``), never a bare stack trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from utilipay.errors import DomainError, ErrorCode
from utilipay.http.body import BODY_KEY, MAX_BODY
from utilipay.http.failures import FAILED_KEY, refusal, server_failure
from utilipay.http.problems import problem

Endpoint = Callable[[Request], Awaitable[Response]]


class _TooLarge(Exception):
    """The body passed the limit."""


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY):
            raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class HubApp:
    """The ASGI application a server runs: the edge, then fast lanes or FastAPI."""

    def __init__(self, fastapi: FastAPI, lanes: Mapping[tuple[str, str], Endpoint]) -> None:
        self.fastapi = fastapi
        self.lanes = dict(lanes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.fastapi(scope, receive, send)  # lifespan
            return
        try:
            body = await _read_body(scope, receive)
        except _TooLarge:
            too_large = problem(ErrorCode.PAYLOAD_TOO_LARGE, f"bodies are at most {MAX_BODY} bytes")
            await too_large(scope, receive, send)
            return
        scope[BODY_KEY] = body
        replay = _replaying(body, receive)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            lane = self.lanes.get((scope["method"], scope["path"]))
            if lane is None:
                await self.fastapi(scope, replay, tracking_send)
            else:
                await self._lane(lane, scope, replay, tracking_send)
        except Exception as exc:
            # Answered (and logged) already by FastAPI's handler, or too late to answer: the
            # exception goes no further, so the server logs no traceback of client data.
            if scope.get(FAILED_KEY):
                return
            response = server_failure(exc, scope["path"])
            if not started:
                await response(scope, replay, send)

    async def _lane(self, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self.fastapi  # what ``request.app`` reads, as under FastAPI
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except DomainError as exc:
            response = await refusal(request, exc)
        await response(scope, receive, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The body read already, then the server's own messages: a streamed response (a
    static file) listens for the client going away, which only the server knows."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
