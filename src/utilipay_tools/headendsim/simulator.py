"""The simulated head-end's state and behaviour, without HTTP: what tests and the demo drive.

It verifies the hub's requests exactly as a channel does (``channelsim.auth``:
signature in constant time, either secret during a rotation, clock skew, nonces
kept), keeps its meters in a ``Book``, draws faults, and signs its answers with
the secret that signed the request (docs/head-end-protocol.md §3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from utilipay.clock import Clock, SystemClock
from utilipay.headend.wire import sign_answer
from utilipay.security.signing import canonical, signature_matches
from utilipay_tools.channelsim.auth import HubVerifier
from utilipay_tools.headendsim.faults import Faults
from utilipay_tools.headendsim.meters import Book


@dataclass(frozen=True, slots=True)
class HeadEndSimConfig:
    secret: str  # the head-end's secret at the hub: the hub signs its requests with it
    previous_secret: str | None = None  # still accepted during a rotation
    timeout_delay: float = 15.0  # seconds a ``timeout`` answer is held: past any sane timeout
    slow_delay: float = 1.0  # seconds a ``slow`` answer is held
    execute_after: float = 2.0  # seconds from ACCEPTED (``accept_only``) to executed
    rejected_meters: frozenset[str] = frozenset()  # meters without a relay: REJECTED
    base: str = ""  # path prefix of every route, e.g. "/headend"

    def __post_init__(self) -> None:
        if not self.secret:  # an empty secret signs nothing: anyone could cut supply
            raise ValueError("the secret must not be empty")
        for name in ("timeout_delay", "slow_delay", "execute_after"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, not {getattr(self, name)}")
        if self.base and (not self.base.startswith("/") or self.base.endswith("/")):
            raise ValueError(f"base {self.base!r} must start with '/' and not end with one")

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.secret, self.previous_secret) if self.previous_secret else (self.secret,)

    def __repr__(self) -> str:  # secrets stay out of logs and tracebacks
        return f"HeadEndSimConfig(base={self.base!r}, rejected_meters={set(self.rejected_meters)})"


class HeadEndSim:
    def __init__(
        self, config: HeadEndSimConfig, clock: Clock | None = None, faults: Faults | None = None
    ) -> None:
        clock = clock or SystemClock()
        self.config = config
        self.faults = faults or Faults()
        self.verifier = HubVerifier(config.secret, config.previous_secret, clock)
        self.book = Book(
            clock, timedelta(seconds=config.execute_after), frozenset(config.rejected_meters)
        )

    def verify(self, headers: Mapping[str, str], method: str, path_qs: str, body: bytes) -> str:
        """The secret that signed this request (``DomainError`` unless the hub did, fresh)."""
        self.verifier.verify(headers, method, path_qs, body)
        timestamp, nonce = headers["x-utilipay-timestamp"], headers["x-utilipay-nonce"]
        message = canonical(method, path_qs, timestamp, nonce, body)
        signature = headers["x-utilipay-signature"]
        # Verified already: which of the two secrets signed it is no secret from the hub.
        return next(s for s in self.config.secrets if signature_matches((s,), message, signature))

    @staticmethod
    def answer_signature(
        secret: str, headers: Mapping[str, str], method: str, path_qs: str, body: bytes
    ) -> str:
        """The signature of an answer ``body`` to the request of these ``headers``."""
        timestamp, nonce = headers["x-utilipay-timestamp"], headers["x-utilipay-nonce"]
        return sign_answer(secret, method, path_qs, timestamp, nonce, body)
