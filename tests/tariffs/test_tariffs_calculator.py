"""The reference calculator: worked figures of real tariffs, the properties of its arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utilipay.errors import DomainError
from utilipay.tariffs.calculator import Usage, accrual_posting, energy_charge, to_fen
from utilipay.tariffs.files import builtin_tariffs, read_tariffs
from utilipay.tariffs.model import (
    ZERO,
    BandPeriod,
    Register,
    TariffVersion,
    Unit,
    band_start,
    blocks_from_bounds,
)

D = Decimal
BUILTIN = {t.code: t.versions[-1] for t in builtin_tariffs()}
MONTHLY, YEARLY, WATER = (
    BUILTIN["BJ_ELEC_RES"],
    BUILTIN["BJ_ELEC_RES_YEAR"],
    BUILTIN["BJ_WATER_RES"],
)


def version(
    bounds: list[tuple[Decimal | None, Decimal]],
    rates: tuple[tuple[Register, Decimal], ...] = (),
    period: BandPeriod = BandPeriod.MONTH,
) -> TariffVersion:
    return TariffVersion(
        "TEST", date(2026, 1, 1), Unit.KWH, period, blocks_from_bounds(bounds), rates, 0
    )


# Beijing-style time of use: register prices, with the block prices as adders on the total.
TOU = version(
    [(D(240), D(0)), (D(400), D("0.05")), (None, D("0.30"))],
    ((Register.PEAK, D("0.5583")), (Register.FLAT, D("0.4883")), (Register.VALLEY, D("0.3"))),
)


def test_246_kwh_in_a_month_cost_120_42_yuan() -> None:
    charge = energy_charge(MONTHLY, Usage(D(246)))
    assert charge.exact_fen == D("12042.18")  # 240 x 0.4883 + 6 x 0.5383 = 120.4218 yuan
    assert charge.fen == 12042
    assert [(b.band, b.start, b.end, b.units, b.price) for b in charge.bands] == [
        (1, D(0), D(240), D(240), D("0.4883")),
        (2, D(240), D(246), D(6), D("0.5383")),
    ]
    assert [b.exact_fen for b in charge.bands] == [D("11719.2"), D("322.98")]


def test_every_band_of_the_monthly_tariff() -> None:
    charge = energy_charge(MONTHLY, Usage(D(500)))
    # 240 x 0.4883 + 160 x 0.5383 + 100 x 0.7883 = 117.192 + 86.128 + 78.83
    assert charge.exact_fen == D("28215.0")
    assert [b.units for b in charge.bands] == [240, 160, 100]


def test_annual_bands_cross_2880_kwh_in_december() -> None:
    used = ZERO
    fen_by_month = []
    for _ in range(12):  # 250 kWh a month: 3,000 kWh in the year
        charge = energy_charge(YEARLY, Usage(D(250)), used_before=used)
        fen_by_month.append(charge.fen)
        used += 250
    assert fen_by_month[:11] == [12208] * 11  # 250 x 0.4883 = 122.075 yuan, 122.08 billed
    december = energy_charge(YEARLY, Usage(D(250)), used_before=D(2750))
    assert [(b.band, b.units) for b in december.bands] == [(1, D(130)), (2, D(120))]
    assert december.exact_fen == D("12807.5")  # 130 x 0.4883 + 120 x 0.5383
    year = energy_charge(YEARLY, Usage(D(3000)))
    assert year.exact_fen == D("147090")  # 2,880 x 0.4883 + 120 x 0.5383 = 1,470.90 yuan
    assert year.exact_fen == 11 * D("12207.5") + december.exact_fen


def test_200_m3_of_water_in_a_year_cost_1040_yuan() -> None:
    charge = energy_charge(WATER, Usage(D(200)))
    assert charge.fen == 104000  # 180 x 5 + 20 x 7
    assert energy_charge(WATER, Usage(D(100)), used_before=D(200)).fen == 78000  # 60 x 7 + 40 x 9


def test_the_electrum_vend_of_73_8_units_costs_100_00() -> None:
    (tariff,) = read_tariffs(Path(__file__).parents[1] / "data" / "tariffs_electrum_tst004.toml")
    charge = energy_charge(tariff.versions[0], Usage(D("73.8")))
    assert [(b.units, b.price) for b in charge.bands] == [
        (50, D("1.1730")),
        (D("23.8"), D("1.7374")),
    ]
    assert charge.exact_fen == D("10000.012")  # 5,865 + 4,135.012 cents
    assert charge.fen == 10000


def test_time_of_use_prices_registers_and_adds_the_block_adders() -> None:
    charge = energy_charge(TOU, Usage.by_register(D(100), D(100), D(50)))
    # registers: 100 x 0.5583 + 100 x 0.4883 + 50 x 0.3 = 119.66; adders: 10 x 0.05 = 0.50
    assert [r.exact_fen for r in charge.registers] == [D("5583"), D("4883"), D("1500")]
    assert [(b.band, b.units, b.exact_fen) for b in charge.bands] == [
        (1, D(240), D(0)),
        (2, D(10), D(50)),
    ]
    assert charge.fen == 12016


def test_zero_usage_costs_nothing_and_band_starts() -> None:
    assert energy_charge(MONTHLY, Usage(ZERO), used_before=D(300)).exact_fen == 0
    assert band_start(BandPeriod.MONTH, date(2026, 10, 17)) == date(2026, 10, 1)
    assert band_start(BandPeriod.YEAR, date(2026, 10, 17)) == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("exact", "fen"),
    [("0.5", 1), ("0.4999", 0), ("2.5", 3), ("12042.18", 12042), ("-0.5", -1), ("-1.4", -1)],
)
def test_to_fen_rounds_half_up(exact: str, fen: int) -> None:
    assert to_fen(D(exact)) == fen


def test_bad_usage_is_refused_with_a_reason() -> None:
    with pytest.raises(DomainError, match="usage -1 must be a number ≥ 0"):
        Usage(D(-1))
    with pytest.raises(DomainError, match="valley usage NaN"):
        Usage.by_register(D(1), D(1), D("NaN"))
    with pytest.raises(DomainError, match="not the sum of its registers"):
        Usage(D(5), ((Register.PEAK, D(1)), (Register.FLAT, D(1)), (Register.VALLEY, D(1))))
    with pytest.raises(DomainError, match="used before -2"):
        energy_charge(MONTHLY, Usage(D(1)), used_before=D(-2))
    with pytest.raises(DomainError, match="give the usage per register"):
        energy_charge(TOU, Usage(D(10)))


# Random tariffs and usages, shared with the SQL agreement test.
prices = st.decimals(min_value=0, max_value=10, places=4)
quantities = st.decimals(min_value=0, max_value=20000, places=3)
bounds = st.decimals(min_value=D("0.001"), max_value=10000, places=3)


@st.composite
def versions(draw: st.DrawFn) -> TariffVersion:
    tou = draw(st.booleans())
    uppers = sorted(set(draw(st.lists(bounds, max_size=4))))
    block_prices = draw(st.lists(prices, min_size=len(uppers) + 1, max_size=len(uppers) + 1))
    has_blocks = not tou or draw(st.booleans())
    blocks = list(zip([*uppers, None], block_prices, strict=True)) if has_blocks else []
    rates = tuple((r, draw(prices)) for r in Register) if tou else ()
    return version(blocks, rates, draw(st.sampled_from(BandPeriod)))


@st.composite
def usages(draw: st.DrawFn, tou: bool) -> Usage:
    if tou or draw(st.booleans()):
        return Usage.by_register(draw(quantities), draw(quantities), draw(quantities))
    return Usage(draw(quantities))


def _plus(a: Usage, b: Usage) -> Usage:
    if a.registers and b.registers:
        return Usage.by_register(*(a.register(r) + b.register(r) for r in Register))
    return Usage(a.total + b.total)


@st.composite
def cases(draw: st.DrawFn) -> tuple[TariffVersion, Decimal, Usage, Usage]:
    v = draw(versions())
    return v, draw(quantities), draw(usages(v.is_time_of_use)), draw(usages(v.is_time_of_use))


@given(cases())
def test_charges_are_additive_exactly(case: tuple[TariffVersion, Decimal, Usage, Usage]) -> None:
    v, before, a, b = case
    first = energy_charge(v, a, before)
    second = energy_charge(v, b, before + a.total)
    assert first.exact_fen + second.exact_fen == energy_charge(v, _plus(a, b), before).exact_fen


@given(cases())
def test_more_usage_never_costs_less(case: tuple[TariffVersion, Decimal, Usage, Usage]) -> None:
    v, before, a, b = case
    assert energy_charge(v, _plus(a, b), before).exact_fen >= energy_charge(v, a, before).exact_fen
    assert energy_charge(v, a, before).exact_fen >= 0


@given(versions(), quantities)
def test_zero_usage_costs_zero(v: TariffVersion, before: Decimal) -> None:
    zero = Usage.by_register(ZERO, ZERO, ZERO) if v.is_time_of_use else Usage(ZERO)
    assert energy_charge(v, zero, before).exact_fen == 0


@given(cases())
def test_lines_add_up_and_time_of_use_splits_only_move_register_charges(
    case: tuple[TariffVersion, Decimal, Usage, Usage],
) -> None:
    v, before, a, _ = case
    charge = energy_charge(v, a, before)
    lines = [*(r.exact_fen for r in charge.registers), *(b.exact_fen for b in charge.bands)]
    assert sum(lines, ZERO) == charge.exact_fen
    assert sum((b.units for b in charge.bands), ZERO) == (a.total if v.blocks else 0)
    if v.is_time_of_use:  # the same total split otherwise: the same adders, registers repriced
        moved = Usage.by_register(ZERO, a.total, ZERO)
        other = energy_charge(v, moved, before)
        assert other.bands == charge.bands
        assert other.exact_fen - sum((r.exact_fen for r in other.registers), ZERO) == sum(
            (b.exact_fen for b in charge.bands), ZERO
        )


@given(versions(), st.lists(quantities, min_size=1, max_size=31))
def test_daily_postings_add_up_to_the_rounded_monthly_charge(
    v: TariffVersion, days: list[Decimal]
) -> None:
    month_exact, posted, used = ZERO, 0, ZERO
    for day in days:
        usage = Usage.by_register(day, ZERO, ZERO) if v.is_time_of_use else Usage(day)
        day_exact = energy_charge(v, usage, used).exact_fen
        posted += accrual_posting(month_exact, day_exact)
        month_exact += day_exact
        used += day
    whole = Usage.by_register(used, ZERO, ZERO) if v.is_time_of_use else Usage(used)
    assert posted == energy_charge(v, whole).fen  # the postpaid bill of the same month
