"""Money is an integer number of fen with a currency. Never float."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

CNY: Final = "CNY"
# The largest amount a BIGINT column holds; anything above is refused before SQL sees it.
MAX_FEN: Final = 2**63 - 1


def format_yuan(fen: int) -> str:
    """12345 → '123.45', -5 → '-0.05' (for people; machines get the integer)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def in_yuan(fen: int) -> Decimal:
    """12345 → Decimal('123.45'): the amount as a number of yuan, exactly (for comparing
    and for files that hold numbers)."""
    return Decimal(fen).scaleb(-2)


def parse_fen(text: str) -> int:
    """Parse an integer amount of fen written as text; refuse decimals, signs and noise."""
    stripped = text.strip()
    if not stripped.isascii() or not stripped.lstrip("-").isdigit():
        raise ValueError(f"amount {text!r} is not a whole number of fen")
    value = int(stripped)
    if abs(value) > MAX_FEN:
        raise ValueError(f"amount {text!r} is out of range")
    return value
