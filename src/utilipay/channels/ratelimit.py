"""Per-channel request rate limits (a token bucket per channel in each server process), and
the slow-down of callers that keep failing to authenticate.

The limit is per process (a process does not ask the others): with N server
workers a channel gets up to N times its rate, so set it to the total divided
by the number of workers. A refused request (429) was not processed at all; the
channel retries it later with a new nonce and the same order id.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from utilipay.channels.schemas import Channel
from utilipay.errors import DomainError, ErrorCode

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class _Bucket:
    rate: float
    tokens: float
    stamp: float

    def take(self, now: float) -> bool:
        # A burst of up to one second's worth of requests is allowed.
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class RateLimiter:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[int, _Bucket] = {}
        self._monotonic = monotonic

    def check(self, channel: Channel) -> None:
        if channel.rate_limit is None:
            return
        bucket = self._buckets.get(channel.id)
        now = self._monotonic()
        if bucket is None or bucket.rate != channel.rate_limit:
            rate = channel.rate_limit
            bucket = self._buckets[channel.id] = _Bucket(rate, rate, now)
        if not bucket.take(now):
            raise DomainError(
                ErrorCode.RATE_LIMITED,
                f"channel {channel.code} is limited to {channel.rate_limit} requests per second",
            )


@dataclass(slots=True)
class _Failures:
    window_start: float
    count: int = 0
    blocked_until: float = 0.0


class FailedAuthentications:
    """Slows down whoever keeps failing to authenticate: ``limit`` failures within
    ``window`` seconds block that caller for ``block`` seconds (429 with Retry-After).

    A caller is a claimed channel code with the source address, or the address alone when
    the code names no channel: somebody failing as WECHAT from one address does not lock
    WECHAT out of its own servers, and an address trying codes is slowed down whatever code
    it tries next. Like the request rate limit, the state is per server process (with N
    workers a caller gets up to N times ``limit`` tries per window); it keeps at most
    ``max_tracked`` callers, forgetting the longest quiet first, so it cannot grow without
    bound. Failures are counted per channel (per address for unknown codes, at most
    ``max_addresses`` of them labelled, the rest as ``other``) for ``/metrics``.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        block: float,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        max_tracked: int = 10_000,
        max_addresses: int = 100,
    ) -> None:
        self.limit, self.window, self.block = limit, window, block
        self._monotonic = monotonic
        self._max_tracked, self._max_addresses = max_tracked, max_addresses
        self._callers: dict[tuple[str, str], _Failures] = {}
        self._last_block_ends = 0.0  # nobody is blocked after this
        self._addresses: set[str] = set()  # the addresses with a label of their own
        self.counts: Counter[tuple[str, str]] = Counter()  # (channel, address) -> failures

    def check(self, code: str, address: str) -> None:
        """Refuse (429) a caller that is blocked; one clock read while nobody is."""
        now = self._monotonic()
        if now >= self._last_block_ends:
            return
        for key in ((code, address), ("", address)):
            found = self._callers.get(key)
            if found is not None and found.blocked_until > now:
                raise DomainError(
                    ErrorCode.RATE_LIMITED,
                    "too many failed authentications: try again later",
                    retry_after=math.ceil(found.blocked_until - now),
                )

    def failed(self, code: str | None, address: str) -> None:
        """Count a failed authentication; ``code`` is None when it names no channel."""
        now = self._monotonic()
        self._count(code, address)
        key = (code or "", address)
        found = self._callers.pop(key, None) or _Failures(window_start=now)
        self._callers[key] = found  # last: the dict's order is the order of recent failures
        if now - found.window_start > self.window:
            found.window_start, found.count = now, 0
        found.count += 1
        if found.count >= self.limit and found.blocked_until <= now:
            found.blocked_until = now + self.block
            self._last_block_ends = max(self._last_block_ends, found.blocked_until)
            log.warning("auth.blocked", channel=code, address=address, seconds=self.block)
        if len(self._callers) > self._max_tracked:
            del self._callers[next(iter(self._callers))]

    def blocked_callers(self) -> int:
        now = self._monotonic()
        return sum(1 for f in self._callers.values() if f.blocked_until > now)

    def _count(self, code: str | None, address: str) -> None:
        if code is not None:
            self.counts[(code, "")] += 1
            return
        if address not in self._addresses and len(self._addresses) < self._max_addresses:
            self._addresses.add(address)
        self.counts[("", address if address in self._addresses else "other")] += 1
