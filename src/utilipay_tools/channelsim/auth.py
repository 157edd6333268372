"""The channel verifies the hub's requests exactly as the hub verifies a channel's (§3).

The hub signs as ``UTILIPAY`` with the channel's secret, so the hub is, to the
channel, a channel of that code: the same ``verify_request`` checks headers,
signature (either secret during a rotation) and clock skew. Nonces are kept
in memory for ``NONCE_TTL_SECONDS``, every one that passed the signature check,
whatever then becomes of its request (so a refused request cannot be replayed
once the state has changed).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping

from utilipay.channels.auth import NONCE_TTL_SECONDS, verify_request
from utilipay.channels.schemas import Channel, ChannelStatus
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.webhooks.service import HUB_CODE


class _Nonces:
    """Nonces seen in the last ``NONCE_TTL_SECONDS``; forgotten in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self._arrivals: deque[tuple[float, str]] = deque()

    def consume(self, nonce: str, now: float) -> bool:
        """True on the nonce's first use within its lifetime."""
        with self._lock:
            self._forget_expired(now)
            if self._expiry.get(nonce, now) > now:
                return False
            expiry = now + NONCE_TTL_SECONDS
            self._expiry[nonce] = expiry
            self._arrivals.append((expiry, nonce))
            return True

    def _forget_expired(self, now: float) -> None:
        while self._arrivals and self._arrivals[0][0] <= now:
            expiry, nonce = self._arrivals.popleft()
            # A nonce used again after it expired has a newer entry further on: only that
            # one may forget it.
            if self._expiry.get(nonce) == expiry:
                del self._expiry[nonce]


class HubVerifier:
    def __init__(self, secret: str, previous_secret: str | None, clock: Clock) -> None:
        self._hub = Channel(
            id=0,
            code=HUB_CODE,
            name="utilipay hub",
            secret=secret,
            previous_secret=previous_secret,
            webhook_url=None,
            status=ChannelStatus.ACTIVE,
            receivable_account_id=0,
        )
        self._clock = clock
        self._nonces = _Nonces()

    def verify(self, headers: Mapping[str, str], method: str, path_qs: str, body: bytes) -> None:
        """``DomainError`` (UNAUTHENTICATED) unless the hub signed this request, fresh."""
        now = self._clock.now().timestamp()
        call = verify_request(headers, method, path_qs, body, now, self._find)
        if not self._nonces.consume(call.nonce, now):
            raise DomainError(ErrorCode.UNAUTHENTICATED, "nonce already used")

    def _find(self, code: str) -> Channel | None:
        return self._hub if code == self._hub.code else None
