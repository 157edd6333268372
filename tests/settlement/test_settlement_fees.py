"""Fee rules: a rate held between a minimum and a maximum, a fixed part, one rounding."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utilipay.settlement.fees import FeeRule, rule_on, total_fee

DAY = date(2026, 11, 1)
amounts = st.integers(min_value=1, max_value=10**12)
rates = st.decimals(min_value=0, max_value=10000, places=3)
fen = st.integers(min_value=0, max_value=10**6)


@st.composite
def rules(draw: st.DrawFn) -> FeeRule:
    minimum = draw(fen)
    maximum = draw(st.none() | st.integers(min_value=minimum, max_value=minimum + 10**6))
    return FeeRule(DAY, draw(rates), minimum, maximum, draw(fen))


@given(rules(), amounts)
def test_a_fee_is_the_clamped_rate_plus_the_fixed_part_rounded_once(
    rule: FeeRule, amount: int
) -> None:
    fee = rule.fee(amount)
    exact = Decimal(amount) * rule.rate_bp / 10000
    clamped = max(exact, Decimal(rule.minimum))
    if rule.maximum is not None:
        clamped = min(clamped, Decimal(rule.maximum))
    expected = int((clamped + rule.fixed).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert fee == min(expected, amount)
    assert 0 <= fee <= amount
    # one rounding: never more than half a fen from the exact fee, unless capped
    if expected <= amount:
        assert abs(Decimal(fee) - rule.exact(amount)) <= Decimal("0.5")


@given(rules(), amounts, amounts)
def test_a_larger_payment_never_costs_less(rule: FeeRule, a: int, b: int) -> None:
    small, large = sorted((a, b))
    assert rule.fee(small) <= rule.fee(large)


@given(rules(), amounts)
def test_the_rate_part_stays_between_minimum_and_maximum(rule: FeeRule, amount: int) -> None:
    fee = rule.fee(amount)
    if rule.minimum + rule.fixed <= amount:
        assert fee >= rule.minimum + rule.fixed
    if rule.maximum is not None:
        assert fee <= rule.maximum + rule.fixed


@given(rules(), st.lists(st.tuples(amounts, st.integers(1, 1000)), max_size=20))
def test_fees_on_grouped_amounts_equal_fees_one_by_one(
    rule: FeeRule, groups: list[tuple[int, int]]
) -> None:
    one_by_one = sum(rule.fee(amount) for amount, count in groups for _ in range(count))
    assert total_fee(rule, groups) == one_by_one


def test_worked_examples() -> None:
    card = FeeRule(DAY, Decimal(60), minimum=10, maximum=500)  # 0.6%, 0.10 to 5.00 yuan
    assert card.fee(12345) == 74  # 74.07
    assert card.fee(1000) == 10  # 6 → the minimum
    assert card.fee(1_000_000) == 500  # 6000 → the maximum
    assert FeeRule(DAY, Decimal("2.5")).fee(100) == 0  # 0.025 fen rounds to nothing
    assert FeeRule(DAY, Decimal("2.5")).fee(2000) == 1  # 0.5 fen rounds half up
    assert FeeRule(DAY, fixed=100).fee(50) == 50  # never more than the payment
    assert FeeRule(DAY, Decimal(30), fixed=20).fee(10000) == 50
    assert total_fee(None, [(100, 3)]) == 0


def test_the_rule_in_force_is_the_latest_started() -> None:
    old, new = FeeRule(date(2026, 1, 1), Decimal(10)), FeeRule(date(2026, 11, 15), Decimal(20))
    assert rule_on([new, old], date(2025, 12, 31)) is None
    assert rule_on([new, old], date(2026, 11, 14)) is old
    assert rule_on([new, old], date(2026, 11, 15)) is new


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate_bp": Decimal(-1)}, "between 0 and 10000"),
        ({"rate_bp": Decimal(10001)}, "between 0 and 10000"),
        ({"rate_bp": Decimal("1.2345")}, "more than 3 decimals"),
        ({"minimum": -1}, "cannot be negative"),
        ({"fixed": -1}, "cannot be negative"),
        ({"minimum": 10, "maximum": 5}, "below minimum"),
    ],
)
def test_bad_rules_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FeeRule(DAY, **kwargs)  # type: ignore[arg-type]


def test_no_fee_on_nothing() -> None:
    with pytest.raises(ValueError, match="no fee"):
        FeeRule(DAY).fee(0)
