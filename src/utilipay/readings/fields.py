"""Field checks shared by the CSV files, the JSON API and the Green Button reader.

Each raises ``ValueError`` with a message that names the field and what it must be.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from utilipay.clock import as_utc
from utilipay.common.validation import has_control_characters

_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]+)?")
_METER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
QUANTUM = Decimal("0.001")  # every quantity is kept to the Wh or the litre
MAX_QUANTITY = Decimal(10) ** 11  # numeric(14, 3): more is a misread, and would not fit
QUALITIES = {"": False, "actual": False, "estimated": True}


def text(name: str, value: str) -> str:
    if not value:
        raise ValueError(f"{name} is empty")
    if has_control_characters(value):
        raise ValueError(f"{name} holds a control character")
    return value


def meter_id(value: str) -> str:
    if not _METER_ID.fullmatch(value):
        raise ValueError(f"meter {value!r} must be 1-64 of A-Z a-z 0-9 _ . -")
    return value


def instant(name: str, value: str) -> datetime:
    """An RFC 3339 timestamp with its offset (a local time without one is ambiguous)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{name} {value!r} has no UTC offset (e.g. +08:00)")
    return as_utc(parsed)


def decimal(name: str, value: str, *, places: int = 3) -> Decimal:
    """A plain decimal number (no exponent, no NaN) with at most ``places`` decimals."""
    if not _DECIMAL.fullmatch(value):
        raise ValueError(f"{name} {value!r} is not a decimal number")
    number = Decimal(value)
    if number < 0:
        raise ValueError(f"{name} {value} is negative")
    if -number.as_tuple().exponent > places:  # type: ignore[operator]  # finite: int
        raise ValueError(f"{name} {value} has more than {places} decimals")
    return number


def quality(value: str) -> bool:
    """``actual`` (or empty) or ``estimated``: True when estimated."""
    try:
        return QUALITIES[value.lower()]
    except KeyError:
        raise ValueError(f"quality {value!r} must be actual or estimated") from None
