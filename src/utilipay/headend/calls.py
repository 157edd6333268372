"""Calling a head-end: ``POST {base}/commands`` and ``GET {base}/commands/{id}``.

Requests are signed as in channel-api.md §3 (``client.sign_request``) with the
hub's code ``UTILIPAY`` and the biller's head-end secret, under the head-end's
connect timeout and a hard total timeout. An answer is used only when it is a
200 whose signature verifies (``wire.answer_is_signed``: either secret during a
rotation), whose body parses and which speaks of this very command; anything
else — a timeout, a reset connection, an error page, a bad signature, a reply
compressed or over 64 KiB (``common.outgoing``) — leaves
the outcome unknown, and is resolved by sending the same command again (the
command id is the head-end's idempotency key). A 404 to the question means the
head-end never got the command.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import ValidationError

from utilipay.clock import SHANGHAI
from utilipay.common.outgoing import Reply, ReplyRefused, exchange
from utilipay.headend.commands import MeterCommand
from utilipay.headend.config import HeadEnd
from utilipay.headend.wire import (
    COMMANDS_PATH,
    SIGNATURE_HEADER,
    Acknowledgement,
    CommandRequest,
    answer_is_signed,
)
from utilipay.security.signing import new_nonce, sign_request
from utilipay.webhooks.service import HUB_CODE

MAX_ANSWER = 64 * 1024


@dataclass(frozen=True, slots=True)
class Call:
    """One call about one command, as the attempt log records it."""

    kind: str  # "send" | "ask"
    url: str
    status_code: int | None
    duration_ms: int
    answer: Acknowledgement | None  # a verified answer about this command
    not_received: bool = False  # the head-end does not know the command
    problem: str | None = None  # why there is no answer

    @property
    def outcome(self) -> str:
        if self.answer is not None:
            return self.answer.status.value
        return "NOT_RECEIVED" if self.not_received else "UNANSWERED"


class _Unusable(Exception):
    """The answer cannot be used; the message says why."""


def command_body(command: MeterCommand) -> bytes:
    """The JSON of a command, checked against the interface before it leaves."""
    request = CommandRequest(
        command_id=command.id,
        meter_id=command.meter_id,
        action=command.action,
        sequence=command.sequence,
        reason=command.reason,
        issued_at=command.decided_at.astimezone(SHANGHAI),
    )
    return request.model_dump_json().encode()


async def send(
    http: httpx.AsyncClient, head_end: HeadEnd, command: MeterCommand, now: datetime
) -> Call:
    """POST the command (the first time or again: the head-end acts on it at most once)."""
    body = command_body(command)
    return await _call(http, head_end, "send", "POST", COMMANDS_PATH, body, command, now)


async def ask(
    http: httpx.AsyncClient, head_end: HeadEnd, command: MeterCommand, now: datetime
) -> Call:
    """GET what became of a command."""
    path = f"{COMMANDS_PATH}/{command.id}"  # command ids need no escaping (wire.COMMAND_ID)
    return await _call(http, head_end, "ask", "GET", path, b"", command, now)


async def _call(
    http: httpx.AsyncClient,
    head_end: HeadEnd,
    kind: str,
    method: str,
    path: str,
    body: bytes,
    command: MeterCommand,
    now: datetime,
) -> Call:
    url = head_end.url(path)
    content_type = {"Content-Type": "application/json"} if body else {}
    timeout = httpx.Timeout(head_end.total_timeout, connect=head_end.connect_timeout)
    request = sign_request(
        http.build_request(method, url, content=body, headers=content_type, timeout=timeout),
        HUB_CODE,
        head_end.secret,
        int(now.timestamp()),
        new_nonce(),
    )
    started = time.monotonic()

    def call(status: int | None, **outcome: Any) -> Call:
        duration = int((time.monotonic() - started) * 1000)
        return Call(kind, url, status, duration, **outcome)

    try:
        async with asyncio.timeout(head_end.total_timeout):
            reply = await exchange(http, request, limit=MAX_ANSWER)
    except TimeoutError:
        return call(None, answer=None, problem=f"no answer within {head_end.total_timeout:g} s")
    except httpx.HTTPError as exc:
        return call(None, answer=None, problem=f"{type(exc).__name__}: {exc}"[:300])
    except ReplyRefused as exc:
        return call(None, answer=None, problem=exc.reason)
    if reply.status_code == 404 and kind == "ask":
        return call(reply.status_code, answer=None, not_received=True)
    try:
        answer = _verified(head_end, request, reply, command)
    except _Unusable as exc:
        return call(reply.status_code, answer=None, problem=str(exc))
    return call(reply.status_code, answer=answer)


def _verified(
    head_end: HeadEnd, request: httpx.Request, reply: Reply, command: MeterCommand
) -> Acknowledgement:
    body = reply.body
    if reply.status_code != 200:
        raise _Unusable(f"HTTP {reply.status_code}: {body[:200].decode('utf-8', 'replace')}")
    signed = answer_is_signed(
        head_end.accepted_secrets,
        reply.headers.get(SIGNATURE_HEADER, ""),
        request.method,
        request.url.raw_path.decode("ascii"),
        request.headers["X-Utilipay-Timestamp"],
        request.headers["X-Utilipay-Nonce"],
        body,
    )
    if not signed:  # checked before the body is parsed: nothing unverified is believed
        raise _Unusable("the answer's signature does not verify")
    try:
        answer = Acknowledgement.model_validate_json(body)
    except ValidationError as exc:
        raise _Unusable(f"a malformed answer: {exc.error_count()} errors") from None
    if (answer.command_id, answer.meter_id, answer.sequence) != (
        command.id,
        command.meter_id,
        command.sequence,
    ):
        raise _Unusable(f"an answer about another command ({answer.command_id[:64]!r})")
    return answer
