"""The fault specs the simulators take: ``"timeout=0.1,drop_response=0.05"``, each kind's
probability per request, refused with a message that names what is wrong."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import TypeVar

K = TypeVar("K", bound=StrEnum)


def parse_probabilities(spec: str, kinds: type[K]) -> dict[K, float]:
    """``kind=probability,…`` of ``kinds``; ``ValueError`` naming what is wrong otherwise."""
    probabilities: dict[K, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kind, probability = _parse_item(item, kinds)
        if kind in probabilities:
            raise ValueError(f"fault {kind.value!r} is given twice in {spec!r}")
        probabilities[kind] = probability
    total = sum(probabilities.values())
    if total > 1:
        raise ValueError(f"fault probabilities add up to {total:g}, more than 1, in {spec!r}")
    return probabilities


def _parse_item(item: str, kinds: type[K]) -> tuple[K, float]:
    name, sep, value = (part.strip() for part in item.partition("="))
    if not sep:
        raise ValueError(f"fault {item!r} must be written kind=probability")
    try:
        kind = kinds(name)
    except ValueError:
        known = ", ".join(k.value for k in kinds)
        raise ValueError(f"unknown fault {name!r}; known: {known}") from None
    try:
        probability = float(value)
    except ValueError:
        probability = math.nan  # refused just below, with the same message
    if not 0 <= probability <= 1:  # nan too
        raise ValueError(f"probability of {kind.value!r} must be between 0 and 1, not {value!r}")
    return kind, probability
