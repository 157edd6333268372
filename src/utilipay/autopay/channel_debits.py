"""Asking a channel to take money (channel-api.md §9), and asking what became of it.

``POST {debit URL}`` with the debit, and ``GET {debit URL}/{debit_id}?funding_source=…``
for the outcome of one already sent; both signed as in §3 with the hub's code
``UTILIPAY`` and the channel's secret. ``debit_id`` plus ``funding_source`` is
the channel's idempotency key. Anything but a well-formed answer for this debit (a
compressed or oversized reply too, ``common.outgoing``) is ``Unanswered``: money may
have been taken, so it is resolved by asking, never by debiting again. A 404 to the
question means the channel never got it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from utilipay.channels.schemas import Channel
from utilipay.common import outgoing
from utilipay.common.outgoing_aiohttp import ExchangeFailed, PooledClient
from utilipay.security.signing import new_nonce, signed_headers

HUB_CODE = "UTILIPAY"
TIMEOUT = 10.0


class Answered(StrEnum):
    """A channel's word on a debit (channel-api.md §9)."""

    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    PROCESSING = "PROCESSING"


_ANSWERS = frozenset(Answered)


@dataclass(frozen=True, slots=True)
class DebitAnswer:
    status: Answered
    channel_txn_id: str | None


@dataclass(frozen=True, slots=True)
class Unanswered:
    reason: str


@dataclass(frozen=True, slots=True)
class NotReceived:
    """The channel has no such debit on that source: it never arrived."""


Result = DebitAnswer | Unanswered | NotReceived


def _headers(channel: Channel, method: str, url: str, body: bytes, now: datetime) -> dict[str, str]:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return signed_headers(
        HUB_CODE, channel.secret, method, path, body, int(now.timestamp()), new_nonce()
    )


async def _exchange(
    http: PooledClient, method: str, url: str, headers: dict[str, str], body: bytes,
    debit_id: str,
) -> Result:  # fmt: skip
    try:
        reply = await http.exchange(method, url, headers, body, limit=outgoing.REPLY_LIMIT)
    except ExchangeFailed as exc:
        return Unanswered(f"{type(exc).__name__}: {exc}"[:300])
    except outgoing.ReplyRefused as exc:
        return Unanswered(exc.reason)
    return _read(reply, debit_id)


def _read(reply: outgoing.Reply, debit_id: str) -> Result:
    if reply.status_code == 404:
        return NotReceived()
    if reply.status_code != 200:
        return Unanswered(f"HTTP {reply.status_code}")
    try:
        answer: Any = orjson.loads(reply.body)
    except orjson.JSONDecodeError:
        return Unanswered("an answer that is not JSON")
    if not isinstance(answer, dict) or answer.get("debit_id") != debit_id:
        return Unanswered("an answer for another debit")
    if answer.get("status") not in _ANSWERS:
        return Unanswered(f"an unknown status {str(answer.get('status'))[:30]!r}")
    txn = answer.get("channel_txn_id")
    return DebitAnswer(Answered(answer["status"]), txn if isinstance(txn, str) else None)


async def send(
    http: PooledClient, channel: Channel, debit: dict[str, Any], now: datetime
) -> Result:
    url = channel.debit_url or ""
    body = orjson.dumps(debit)
    headers = {**_headers(channel, "POST", url, body, now), "Content-Type": "application/json"}
    return await _exchange(http, "POST", url, headers, body, debit["debit_id"])


async def ask(
    http: PooledClient, channel: Channel, debit_id: str, source: str, now: datetime
) -> Result:
    base = (channel.debit_url or "").rstrip("/")
    url = f"{base}/{quote(debit_id, safe='')}?funding_source={quote(source, safe='')}"
    return await _exchange(http, "GET", url, _headers(channel, "GET", url, b"", now), b"", debit_id)


def http_client(timeout: float = TIMEOUT) -> PooledClient:
    """On aiohttp, not httpx: the sender's requests are its volume (``outgoing_aiohttp``)."""
    return PooledClient(timeout, 3.0)
