"""Per-channel request rate limits: a token bucket per channel in each server process.

The limit is per process (a process does not ask the others): with N server
workers a channel gets up to N times its rate, so set it to the total divided
by the number of workers. A refused request (429) was not processed at all; the
channel retries it later with a new nonce and the same order id.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from utilipay.channels.schemas import Channel
from utilipay.errors import DomainError, ErrorCode


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
