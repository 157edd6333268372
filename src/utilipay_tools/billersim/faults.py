"""Faults the simulator injects, from a spec such as ``"timeout=0.1,drop_response=0.05"``.

Each request draws at most one fault; the spec gives each kind's probability
per request. A seed makes the draws (and delays) repeat exactly for the same
sequence of requests. What each kind does is ``app.py``'s business; this module
decides and counts.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from utilipay.common.faults import parse_probabilities


class FaultKind(StrEnum):
    TIMEOUT = "timeout"  # the reply comes too late; half the time the request is acted on late
    DROP_RESPONSE = "drop_response"  # processed, then the connection closes unanswered
    ERROR = "error"  # 9999, nothing processed
    SLOW = "slow"  # processed and answered after a short delay
    DUPLICATE = "duplicate"  # processed twice, the second answer is sent


@dataclass(frozen=True, slots=True)
class FaultPlan:
    probabilities: dict[FaultKind, float] = field(default_factory=dict)
    timeout_delay: float = 15.0  # seconds: longer than any sane client's total timeout
    slow_delay: tuple[float, float] = (0.5, 2.0)  # seconds, uniformly between

    @classmethod
    def parse(
        cls, spec: str, *, timeout_delay: float = 15.0, slow_delay: tuple[float, float] = (0.5, 2.0)
    ) -> FaultPlan:
        """A plan from ``kind=probability,…``; ``ValueError`` naming what is wrong otherwise."""
        probabilities = parse_probabilities(spec, FaultKind)
        if timeout_delay < 0 or not 0 <= slow_delay[0] <= slow_delay[1]:
            raise ValueError(f"bad delays: timeout {timeout_delay}, slow {slow_delay}")
        return cls(probabilities, timeout_delay, slow_delay)


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    delay: float = 0.0  # seconds before the request is looked at (timeout, slow)
    processed: bool = True  # timeout only: whether the request is acted upon at all


class Faults:
    """The draws of one simulator run, and how many of each kind were injected."""

    def __init__(self, plan: FaultPlan | None = None, seed: int | None = None) -> None:
        self.plan = plan or FaultPlan()
        self._rng = random.Random(seed)  # noqa: S311  # a simulation, not a secret
        self._counts: Counter[FaultKind] = Counter()

    def draw(self) -> Fault | None:
        """The fault for the next request, or None (counted as it is drawn)."""
        if not self.plan.probabilities:
            return None
        roll = self._rng.random()
        for kind in FaultKind:  # a fixed order: the same seed, the same faults, however spelt
            probability = self.plan.probabilities.get(kind, 0.0)
            if roll < probability:
                self._counts[kind] += 1
                return self._fault(kind)
            roll -= probability
        return None

    def _fault(self, kind: FaultKind) -> Fault:
        if kind is FaultKind.TIMEOUT:
            return Fault(kind, self.plan.timeout_delay, processed=self._rng.random() < 0.5)
        if kind is FaultKind.SLOW:
            return Fault(kind, self._rng.uniform(*self.plan.slow_delay))
        return Fault(kind)

    def counts(self) -> dict[FaultKind, int]:
        """Faults injected so far, every kind listed (0 when none)."""
        return {kind: self._counts[kind] for kind in FaultKind}
