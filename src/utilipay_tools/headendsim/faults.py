"""Faults the head-end simulator injects: drawn per request from a spec such as
``"timeout=0.1,drop_response=0.05,accept_only=0.2"``, or scripted for the next requests.

Each request about a command (``POST /commands``, ``GET /commands/{id}``) that is
signed and well-formed gets at most one fault. Scripted faults (``script``) come
first, in order, so a test or the demo can say exactly what happens next; then
the draws, which a seed makes repeat exactly. What each kind does is ``app.py``'s
business.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from enum import StrEnum

from utilipay.common.faults import parse_probabilities


class FaultKind(StrEnum):
    TIMEOUT = "timeout"  # acted on; the answer comes after the caller has given up
    DROP_RESPONSE = "drop_response"  # acted on, then the connection closes unanswered
    ERROR = "error"  # 503, nothing done
    SLOW = "slow"  # acted on and answered after a short delay
    ACCEPT_ONLY = "accept_only"  # a new command is ACCEPTED, executed a little later
    BAD_SIGNATURE = "bad_signature"  # acted on; the answer's signature does not verify


@dataclass(frozen=True, slots=True)
class FaultPlan:
    probabilities: dict[FaultKind, float] = field(default_factory=dict)

    def spec(self) -> str:
        return ",".join(f"{kind.value}={p:g}" for kind, p in self.probabilities.items())

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """A plan from ``kind=probability,…``; ``ValueError`` naming what is wrong otherwise."""
        probabilities = parse_probabilities(spec, FaultKind)
        return cls(probabilities)


class Faults:
    """The faults of one simulator run, and how many of each were injected."""

    def __init__(self, plan: FaultPlan | None = None, seed: int | None = None) -> None:
        self.plan = plan or FaultPlan()
        self._rng = random.Random(seed)  # noqa: S311  # a simulation, not a secret
        self._lock = threading.Lock()  # requests arrive on the server's loop, scripts from tests
        self._scripted: deque[FaultKind | None] = deque()
        self._counts: Counter[FaultKind] = Counter()

    def script(self, *kinds: FaultKind | None) -> None:
        """The next requests get these faults, in order (None: no fault for that one)."""
        with self._lock:
            self._scripted.extend(kinds)

    def draw(self) -> FaultKind | None:
        """The fault for the next request, or None (counted as it is drawn)."""
        with self._lock:
            kind = self._scripted.popleft() if self._scripted else self._roll()
            if kind is not None:
                self._counts[kind] += 1
            return kind

    def _roll(self) -> FaultKind | None:
        roll = self._rng.random()
        for kind in FaultKind:  # a fixed order: the same seed, the same faults, however spelt
            probability = self.plan.probabilities.get(kind, 0.0)
            if roll < probability:
                return kind
            roll -= probability
        return None

    def counts(self) -> dict[FaultKind, int]:
        """Faults injected so far, every kind listed (0 when none)."""
        with self._lock:
            return {kind: self._counts[kind] for kind in FaultKind}
