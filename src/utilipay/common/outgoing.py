"""Calling other systems over HTTP without letting their replies cost what they like.

Every client the hub calls out with (utilities, head-ends, channels' debit and webhook
URLs, the SMS gateway) is made here and reads its replies through ``exchange``:

- it asks for replies as they are (``Accept-Encoding: identity``), and a reply that
  comes compressed anyway is refused before a byte of it is inflated;
- a reply is read as it arrives on the wire, and refused as soon as it passes its
  limit (a ``Content-Length`` over it is refused before reading at all).

Why not inflate while counting? httpx inflates each chunk the network hands it in one
call, with no bound on what comes out: a 64 KiB chunk of a gzip bomb is 64 MiB before
any count can stop it (a 100 KB bomb from a utility cost 3.3 s and 64 MiB). Inflating
with a bound would take a decoder of our own for each coding httpx speaks (gzip,
deflate, brotli, zstd), for replies of a few KiB that gain nothing from compression.
Asking for identity costs nothing: RFC 9110 §12.5.3 has a server send the reply
uncoded when the client accepts no coding, so only a server that ignores the request
is refused, and its refusal names the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx

IDENTITY = "identity"
# Channels and gateways answer with a status and a few fields of JSON at most.
REPLY_LIMIT = 64 * 1024
POOL = 64  # connections a client keeps; a sender has at most as many requests in flight


class ReplyRefused(Exception):
    """A reply the hub does not read: compressed, or larger than the call allows."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Reply:
    status_code: int
    headers: Mapping[str, str]  # case-insensitive, as each client gives them
    body: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300


def http_client(total_timeout: float, connect_timeout: float) -> httpx.AsyncClient:
    """A pooled client that asks for uncompressed replies and follows no redirect. Every
    connection it may open is kept alive: with fewer kept than opened, a sender with more
    requests in flight than that closed the rest after each reply and opened a new
    connection for the next (a TCP handshake and a socket each, at every request)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(total_timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL),
        headers={"Accept-Encoding": IDENTITY},
        follow_redirects=False,
    )


async def exchange(http: httpx.AsyncClient, request: httpx.Request, *, limit: int) -> Reply:
    """Send ``request``; its reply's status, headers and body as sent, at most ``limit``
    bytes. Raises ``ReplyRefused`` (and ``httpx.HTTPError`` when the exchange fails)."""
    response = await http.send(request, stream=True)
    try:
        check_headers(response.headers, limit)
        # as on the wire: nothing is inflated
        body = await read_within(response.aiter_raw(), limit)
        return Reply(response.status_code, response.headers, body)
    finally:
        await response.aclose()


async def read_within(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """A body read as it arrives, refused as soon as it passes ``limit`` bytes."""
    read: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise ReplyRefused(f"a reply over {limit} bytes, refused part-read")
        read.append(chunk)
    return b"".join(read)


def check_headers(headers: Mapping[str, str], limit: int) -> None:
    """Refuses a reply by its headers alone: compressed, or declaring more than ``limit``."""
    coding = headers.get("Content-Encoding", IDENTITY).strip().lower() or IDENTITY
    if coding != IDENTITY:
        raise ReplyRefused(
            f"a compressed reply (Content-Encoding: {coding[:40]}) refused unread: "
            "the hub asks for identity"
        )
    declared = headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise ReplyRefused(f"a reply of {declared} bytes, over {limit}: refused unread")
