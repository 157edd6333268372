"""Per request: the verified channel, its body, and the request's one transaction.

Every signed request's nonce is recorded whatever the outcome, so a refused
request cannot be replayed later when the state may have changed: inside the
request's transaction when it commits, or on its own when the request fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.channels import repository as channels_repo
from utilipay.channels.auth import SignedCall, TerminalKey, verify_request
from utilipay.channels.ratelimit import FailedAuthentications, RateLimiter
from utilipay.channels.schemas import Channel
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.body import BODY_KEY, raw_path_with_query
from utilipay.http.host import Host


class ChannelHost(Host, Protocol):
    """What checking a channel's request needs of the running hub."""

    def channel(self, code: str) -> Channel | None: ...

    def terminal(self, terminal_id: str) -> TerminalKey | None:
        """An agent channel's terminal (channel-api.md §11), or None."""
        ...

    async def reload_if_stale(self) -> bool:
        """Reload the channels unless they were loaded a moment ago; True if it did."""
        ...

    @property
    def rate_limiter(self) -> RateLimiter: ...

    @property
    def auth_failures(self) -> FailedAuthentications: ...


CONTEXT_KEY = "utilipay_context"


@dataclass
class RequestContext:
    hub: ChannelHost
    call: SignedCall
    body: bytes
    nonce_recorded: bool = field(default=False)

    @property
    def channel(self) -> Channel:
        return self.call.channel

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """The request's transaction, its first statement recording the nonce."""
        async with self.hub.engine.begin() as conn:
            await self._consume_nonce(conn)
            yield conn
        self.nonce_recorded = True

    async def record_nonce(self) -> None:
        """For a request that needs no other statement."""
        async with self.transaction():
            pass

    async def record_nonce_after_failure(self) -> bool:
        """Record the nonce of a refused request; False if it was a replay all along."""
        if self.nonce_recorded:
            return True
        async with self.hub.engine.begin() as conn:
            fresh = await channels_repo.consume_nonce(
                conn, self.channel.id, self.call.nonce, self.hub.clock.now()
            )
        self.nonce_recorded = True
        return fresh

    async def _consume_nonce(self, conn: AsyncConnection) -> None:
        fresh = await channels_repo.consume_nonce(
            conn, self.channel.id, self.call.nonce, self.hub.clock.now()
        )
        if not fresh:
            self.nonce_recorded = True
            raise DomainError(ErrorCode.UNAUTHENTICATED, "nonce already used")


async def _verified(
    hub: ChannelHost, request: Request, headers: dict[str, str], body: bytes
) -> SignedCall:
    def verify() -> SignedCall:
        return verify_request(
            headers,
            request.method,
            raw_path_with_query(request.scope),
            body,
            hub.clock.now().timestamp(),
            hub.channel,
            hub.terminal,
        )

    try:
        return verify()
    except DomainError:
        # A channel or terminal added a moment ago may not have reached this process yet.
        code = headers.get("x-utilipay-channel", "")
        terminal_id = headers.get("x-utilipay-terminal")
        known = hub.channel(code) is not None and (
            terminal_id is None or hub.terminal(terminal_id) is not None
        )
        if known or not await hub.reload_if_stale():
            raise
        return verify()


async def signed(request: Request) -> RequestContext:
    """FastAPI dependency: the request's channel, or 401 (429 for a caller that keeps
    failing to authenticate, see ``channels.ratelimit.FailedAuthentications``)."""
    hub: ChannelHost = request.app.state.hub
    body: bytes = request.scope.get(BODY_KEY, b"")
    headers = {k: v for k, v in request.headers.items() if k.startswith("x-utilipay-")}
    code = headers.get("x-utilipay-channel", "")
    address = request.client.host if request.client else ""
    hub.auth_failures.check(code, address)
    try:
        call = await _verified(hub, request, headers, body)
    except DomainError:
        known = hub.channel(code) is not None
        hub.auth_failures.failed(code if known else None, address)
        raise
    hub.rate_limiter.check(call.channel)
    context = RequestContext(hub=hub, call=call, body=body)
    request.state.utilipay_context = context
    return context
