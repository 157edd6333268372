"""The outgoing rules of ``common.outgoing`` (identity replies only, read within a limit,
no redirect) for the senders that call out at volume, on aiohttp.

Why a second client: the auto-pay sender's requests cost ~1.8 ms of CPU each through
httpx against the channel simulator, and ~6 ms with 64 in flight (httpcore's pool looks
at every connection for every request it places); through aiohttp they cost ~0.2-0.3 ms
at any concurrency (BENCHMARKS.md, "Issue 15: background senders"). At a thousand
debits a second that is the difference between the HTTP client taking the whole core
and a fifth of it.

An aiohttp session belongs to the event loop it was made in, so ``PooledClient`` makes
its session at its first request, in the loop that sends.
"""

from __future__ import annotations

import aiohttp

from utilipay.common.outgoing import IDENTITY, POOL, Reply, check_headers, read_within

# What a failed exchange raises, besides ``ReplyRefused``: no connection, a broken one,
# or no whole reply within the timeout.
ExchangeFailed = (aiohttp.ClientError, TimeoutError)


class PooledClient:
    """Keeps up to ``pool`` connections alive; asks for uncompressed replies."""

    def __init__(self, total_timeout: float, connect_timeout: float, pool: int = POOL) -> None:
        self._timeout = aiohttp.ClientTimeout(total=total_timeout, connect=connect_timeout)
        self._pool = pool
        self._session: aiohttp.ClientSession | None = None

    def _opened(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool),
                timeout=self._timeout,
                headers={"Accept-Encoding": IDENTITY},
                auto_decompress=False,  # a compressed reply is refused, never inflated
            )
        return self._session

    async def exchange(
        self, method: str, url: str, headers: dict[str, str], body: bytes, *, limit: int
    ) -> Reply:
        """As ``outgoing.exchange``: the reply's status, headers and at most ``limit``
        bytes of body. Raises ``ReplyRefused`` or one of ``ExchangeFailed``."""
        async with self._opened().request(
            method, url, data=body or None, headers=headers, allow_redirects=False
        ) as response:
            check_headers(response.headers, limit)
            body = await read_within(response.content.iter_any(), limit)
            return Reply(response.status, response.headers, body)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
