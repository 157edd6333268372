"""The reference calculator: a tariff version and some usage → the exact charge, band by band.

Charges are exact: Decimal fen, never rounded here (every operation runs in a
context that raises rather than rounds). ``to_fen`` is the one rounding, half
up (away from zero, as PostgreSQL's ``round(numeric)``), and it happens once
per amount that is posted:

- a postpaid bill rounds its period's exact total once:
  ``to_fen(charge.exact_fen) + version.fixed_monthly``;
- a prepaid daily accrual posts ``accrual_posting(month_exact_before, day_exact)``,
  the rounded cumulative charge of the month to date minus the rounded
  cumulative to yesterday, so a month's postings add up to the rounded monthly
  charge: the same as the postpaid bill, since charges are additive.

The same arithmetic runs in SQL (``sql/calculator.sql``, ``tariff_energy_charge``);
the tests hold the two to the same Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

from utilipay.errors import DomainError, ErrorCode
from utilipay.tariffs.model import ZERO, Block, Register, TariffVersion

FEN_PER_YUAN = Decimal(100)
# Wide enough for any meter and price; an operation that would still round raises instead.
EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, Overflow, DivisionByZero])


def to_fen(amount: Decimal) -> int:
    """The one rounding: exact fen to whole fen, half up (away from zero)."""
    if not amount.is_finite():
        raise ValueError(f"cannot round {amount} to fen")
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))


def accrual_posting(month_exact_before: Decimal, day_exact: Decimal) -> int:
    """Fen a prepaid account is charged for a day: the rounded month to date minus the
    rounded month to yesterday."""
    with localcontext(EXACT):
        return to_fen(month_exact_before + day_exact) - to_fen(month_exact_before)


def _quantity(name: str, value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"{name} {value} must be a number ≥ 0")
    return value


@dataclass(frozen=True, slots=True)
class Usage:
    """A period's usage: a total, and the registers' when the meter reads time-of-use."""

    total: Decimal
    registers: tuple[tuple[Register, Decimal], ...] = ()  # empty: one total only

    def __post_init__(self) -> None:
        for register, value in self.registers:
            _quantity(f"{register} usage", value)
        _quantity("usage", self.total)
        with localcontext(EXACT):
            if self.registers and sum((v for _, v in self.registers), ZERO) != self.total:
                raise DomainError(
                    ErrorCode.MALFORMED_REQUEST,
                    f"usage {self.total} is not the sum of its registers",
                )

    @classmethod
    def by_register(cls, peak: Decimal, flat: Decimal, valley: Decimal) -> Usage:
        with localcontext(EXACT):
            total = peak + flat + valley
        return cls(total, ((Register.PEAK, peak), (Register.FLAT, flat), (Register.VALLEY, valley)))

    def register(self, register: Register) -> Decimal:
        return dict(self.registers)[register]


@dataclass(frozen=True, slots=True)
class RegisterLine:
    register: Register
    units: Decimal
    price: Decimal  # yuan per unit
    exact_fen: Decimal


@dataclass(frozen=True, slots=True)
class BandLine:
    """The part of the usage that falls in one band: cumulative positions start..end."""

    band: int
    lower: Decimal  # the band, in the period's cumulative usage
    upper: Decimal | None
    start: Decimal  # this usage's share of it
    end: Decimal
    price: Decimal  # yuan per unit (an adder on the register prices for time-of-use)
    exact_fen: Decimal

    @property
    def units(self) -> Decimal:
        with localcontext(EXACT):
            return self.end - self.start


@dataclass(frozen=True, slots=True)
class Charge:
    used_before: Decimal  # in the band period, before this usage
    usage: Usage
    registers: tuple[RegisterLine, ...]
    bands: tuple[BandLine, ...]
    exact_fen: Decimal  # the energy charge, unrounded

    @property
    def fen(self) -> int:
        return to_fen(self.exact_fen)


def energy_charge(version: TariffVersion, usage: Usage, used_before: Decimal = ZERO) -> Charge:
    """The exact charge of ``usage`` after ``used_before`` units in the same band period."""
    _quantity("used before", used_before)
    if version.is_time_of_use and not usage.registers:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"tariff {version.code} prices peak, flat and valley: give the usage per register",
        )
    with localcontext(EXACT):
        registers = tuple(
            RegisterLine(r, usage.register(r), price, usage.register(r) * price * FEN_PER_YUAN)
            for r, price in version.rates
        )
        end = used_before + usage.total
        bands = tuple(
            line for b in version.blocks if (line := _band_line(b, used_before, end)) is not None
        )
        exact = sum((r.exact_fen for r in registers), ZERO) + sum(
            (b.exact_fen for b in bands), ZERO
        )
    return Charge(used_before, usage, registers, bands, exact)


def _band_line(block: Block, start: Decimal, end: Decimal) -> BandLine | None:
    low = max(start, block.lower)
    high = end if block.upper is None else min(end, block.upper)
    if high <= low:
        return None
    fen = (high - low) * block.price * FEN_PER_YUAN
    return BandLine(block.band, block.lower, block.upper, low, high, block.price, fen)
