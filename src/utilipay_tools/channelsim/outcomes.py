"""What the simulated channel does with a debit, per funding source.

A plan is written ``card-1=declined,balance=success,*=insufficient``: an outcome
per funding source id, and ``*`` for any source not named (``success`` when
``*`` is not given). The empty string is "everything succeeds".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_KEY = "*"
# Funding source ids are the channel's own: anything but the spec's delimiters and blanks.
_SOURCE = re.compile(r"[^\s,=\x00-\x1f\x7f]{1,64}")


class Outcome(StrEnum):
    SUCCESS = "success"  # taken, answered SUCCEEDED
    DECLINED = "declined"  # nothing taken, answered DECLINED
    INSUFFICIENT = "insufficient"  # nothing taken, answered INSUFFICIENT_FUNDS
    PROCESSING = "processing"  # taken, answered PROCESSING; a later GET settles it SUCCEEDED
    TIMEOUT = "timeout"  # taken, the answer held back past the caller's timeout


@dataclass(frozen=True, slots=True)
class OutcomePlan:
    default: Outcome = Outcome.SUCCESS
    by_source: dict[str, Outcome] = field(default_factory=dict)

    def outcome_for(self, funding_source: str) -> Outcome:
        return self.by_source.get(funding_source, self.default)

    def spec(self) -> str:
        """The plan written back the way ``parse`` reads it."""
        named = [f"{source}={outcome.value}" for source, outcome in self.by_source.items()]
        return ",".join([*named, f"{DEFAULT_KEY}={self.default.value}"])

    @classmethod
    def parse(cls, spec: str) -> OutcomePlan:
        """A plan from ``source=outcome,…``; ``ValueError`` naming what is wrong otherwise."""
        default = Outcome.SUCCESS
        by_source: dict[str, Outcome] = {}
        seen: set[str] = set()
        items = spec.split(",") if spec.strip() else []
        for item in items:
            source, outcome = _parse_item(item, spec)
            if source in seen:
                raise ValueError(f"funding source {source!r} is given twice in {spec!r}")
            seen.add(source)
            if source == DEFAULT_KEY:
                default = outcome
            else:
                by_source[source] = outcome
        return cls(default, by_source)


def _parse_item(item: str, spec: str) -> tuple[str, Outcome]:
    if not item.strip():
        raise ValueError(f"empty entry in {spec!r} (a stray comma?)")
    source, sep, value = (part.strip() for part in item.partition("="))
    if not sep:
        raise ValueError(f"{item.strip()!r} must be written funding_source=outcome")
    if source != DEFAULT_KEY and not _SOURCE.fullmatch(source):
        raise ValueError(
            f"funding source {source!r} must be 1-64 characters without blanks, ',' or '=' "
            f"(or {DEFAULT_KEY} for any other source)"
        )
    try:
        return source, Outcome(value)
    except ValueError:
        known = ", ".join(o.value for o in Outcome)
        raise ValueError(f"unknown outcome {value!r} for {source!r}; known: {known}") from None
