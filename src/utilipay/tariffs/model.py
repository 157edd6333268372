"""What a tariff version is: block bands, time-of-use rates, a fixed monthly charge.

A tariff (电价、水价) is published by a regulator under a code and changes by new
versions, each effective from a date and never edited once loaded. A version
prices usage in one of two ways, or both:

- blocks (阶梯): bands of the usage accumulated over the band period (a month
  or a calendar year), each with a price per unit; the last band is open-ended.
- rates (峰平谷): a price per register (peak, flat, valley). With rates the
  block prices are adders on the total usage, on top of the register prices
  (the Beijing time-of-use form); without rates they are the whole price.

Prices are yuan per unit as exact decimals (at most 4 places, as published);
block bounds are units (at most 3 places); the fixed monthly charge is fen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)
PRICE_PLACES = 4  # yuan per unit, as regulators publish them (0.0001 yuan)
UNIT_PLACES = 3  # usage and band bounds (a meter's 0.001 kWh or m3)


class BandPeriod(StrEnum):
    MONTH = "month"
    YEAR = "year"  # the calendar year


class Unit(StrEnum):
    KWH = "kWh"
    M3 = "m3"


class Register(StrEnum):
    PEAK = "peak"
    FLAT = "flat"
    VALLEY = "valley"


@dataclass(frozen=True, slots=True)
class Block:
    """Band ``band`` (1-based) takes the period's cumulative usage in (lower, upper]."""

    band: int
    lower: Decimal
    upper: Decimal | None  # None: everything above lower
    price: Decimal  # yuan per unit; an adder when the version has rates


@dataclass(frozen=True, slots=True)
class TariffVersion:
    code: str
    effective_from: date
    unit: Unit
    band_period: BandPeriod
    blocks: tuple[Block, ...]
    rates: tuple[tuple[Register, Decimal], ...]  # empty, or every register's price
    fixed_monthly: int  # fen per month
    # the database's id once stored; not part of what a version says
    id: int | None = field(default=None, compare=False)

    @property
    def is_time_of_use(self) -> bool:
        return bool(self.rates)


@dataclass(frozen=True, slots=True)
class Tariff:
    code: str
    name: str
    unit: Unit
    versions: tuple[TariffVersion, ...]  # by effective date


def blocks_from_bounds(bounds: list[tuple[Decimal | None, Decimal]]) -> tuple[Block, ...]:
    """Blocks from (up_to, price) pairs as published: each band starts where the last ended."""
    blocks: list[Block] = []
    lower = ZERO
    for band, (upper, price) in enumerate(bounds, start=1):
        blocks.append(Block(band, lower, upper, price))
        lower = upper if upper is not None else lower
    return tuple(blocks)


def canonical_rates(rates: dict[Register, Decimal]) -> tuple[tuple[Register, Decimal], ...]:
    """Register prices in the order peak, flat, valley, so equal versions compare equal."""
    return tuple((register, rates[register]) for register in Register if register in rates)


def band_start(period: BandPeriod, day: date) -> date:
    """The first day of the band period holding ``day``: usage before it is not ``used_before``."""
    if period is BandPeriod.MONTH:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def describe_blocks(blocks: tuple[Block, ...]) -> str:
    """``≤240 at 0.4883, ≤400 at 0.5383, >400 at 0.7883``."""
    return ", ".join(
        f"≤{b.upper} at {b.price}" if b.upper is not None else f">{b.lower} at {b.price}"
        for b in blocks
    )


def describe_rates(rates: tuple[tuple[Register, Decimal], ...]) -> str:
    return ", ".join(f"{register} {price}" for register, price in rates) or "none"


def differences(stored: TariffVersion, loaded: TariffVersion) -> list[str]:
    """What a second load of a version would change (it may not), for the refusal message."""
    found = [
        (name, str(getattr(stored, name)), str(getattr(loaded, name)))
        for name in ("unit", "band_period", "fixed_monthly")
        if getattr(stored, name) != getattr(loaded, name)
    ]
    if stored.blocks != loaded.blocks:
        found.append(("blocks", describe_blocks(stored.blocks), describe_blocks(loaded.blocks)))
    if stored.rates != loaded.rates:
        found.append(("rates", describe_rates(stored.rates), describe_rates(loaded.rates)))
    return [f"{name}: stored {was}, file {now}" for name, was, now in found]
