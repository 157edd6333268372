"""Fee rules: what one transaction costs, in Decimal with one rounding to fen.

A rule is a rate in basis points (万分之), held between a minimum and a maximum, plus
a fixed amount per transaction. Who bears it depends on whose rule it is:

- a biller's rule is the hub's service fee: deducted from what the utility is paid;
- a channel's rule is what the channel charges the hub: the hub's cost, reported in
  the settlement and never deducted from the utility.

A fee never exceeds the transaction it is charged on: a fixed 1 yuan on a 0.50
yuan payment costs 0.50.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

BASIS = Decimal(10000)
MAX_RATE_BP = Decimal(10000)


@dataclass(frozen=True, slots=True)
class FeeRule:
    effective_from: date
    rate_bp: Decimal = Decimal(0)
    minimum: int = 0  # fen, the least the rate part costs
    maximum: int | None = None  # fen, the most the rate part costs
    fixed: int = 0  # fen per transaction, on top

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.rate_bp <= MAX_RATE_BP:
            raise ValueError(f"rate {self.rate_bp} bp must be between 0 and {MAX_RATE_BP}")
        if self.rate_bp.as_tuple().exponent < -3:  # type: ignore[operator]
            raise ValueError(f"rate {self.rate_bp} bp has more than 3 decimals")
        if self.minimum < 0 or self.fixed < 0:
            raise ValueError("minimum and fixed fees cannot be negative")
        if self.maximum is not None and self.maximum < self.minimum:
            raise ValueError(f"maximum {self.maximum} is below minimum {self.minimum}")

    def exact(self, amount: int) -> Decimal:
        """The fee before rounding: the clamped rate part plus the fixed part."""
        part = Decimal(amount) * self.rate_bp / BASIS
        part = max(part, Decimal(self.minimum))
        if self.maximum is not None:
            part = min(part, Decimal(self.maximum))
        return part + self.fixed

    def fee(self, amount: int) -> int:
        """The fee on one transaction of ``amount`` fen: rounded once, half up, to fen."""
        if amount <= 0:
            raise ValueError(f"a transaction of {amount} fen has no fee")
        rounded = int(self.exact(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return min(rounded, amount)


def rule_on(rules: Sequence[FeeRule], day: date) -> FeeRule | None:
    """The rule in force on ``day``: the latest that took effect on or before it."""
    found = None
    for rule in rules:
        if rule.effective_from <= day and (
            found is None or rule.effective_from > found.effective_from
        ):
            found = rule
    return found


def total_fee(rule: FeeRule | None, amounts: Sequence[tuple[int, int]]) -> int:
    """The fees on ``count`` transactions of each ``amount``: ``(amount, count)`` pairs."""
    if rule is None:
        return 0
    return sum(rule.fee(amount) * count for amount, count in amounts)
