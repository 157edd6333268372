"""The late-fee rule in Python (``billing/latefees.py``): its properties, and its SQL twin
(``bill_late_fee``) giving the same fee, fen for fen, on random rules, bills and days."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import START
from utilipay.billing import latefee_service
from utilipay.billing.latefees import DayBasis, LateFeeRule, days_counted, late_fee, rule_for
from utilipay.calendar import working
from utilipay.clock import FrozenClock

FIRST, LAST = date(2025, 1, 1), date(2026, 12, 31)


@st.composite
def rules(draw: st.DrawFn) -> LateFeeRule:
    return LateFeeRule(
        effective_from=date(2024, 1, 1),
        effective_to=None,
        daily_per_mille=draw(
            st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10), places=4)
        ),
        grace_days=draw(st.integers(0, 40)),
        basis=draw(st.sampled_from(DayBasis)),
        cap_fen=draw(st.none() | st.integers(1, 10**7)),
        cap_percent=draw(
            st.none() | st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(100), places=4)
        ),
    )


days = st.dates(min_value=FIRST, max_value=LAST)
principals = st.integers(1, 10**9)


@settings(max_examples=300)
@given(rule=rules(), principal=principals, due=days, on=days, later=st.integers(0, 400))
def test_the_fee_never_falls_as_days_pass(
    rule: LateFeeRule, principal: int, due: date, on: date, later: int
) -> None:
    first = late_fee(rule, principal=principal, due=due, on=on).fee
    assert late_fee(rule, principal=principal, due=due, on=on + timedelta(days=later)).fee >= first


@settings(max_examples=300)
@given(rule=rules(), principal=principals, due=days, on=days)
def test_the_fee_never_passes_the_cap(
    rule: LateFeeRule, principal: int, due: date, on: date
) -> None:
    fee = late_fee(rule, principal=principal, due=due, on=on)
    cap = rule.cap(principal)
    assert fee.accrued >= 0
    if cap is not None:
        # rounded once, half up: at most half a fen above a cap that is not whole fen
        assert fee.accrued <= int(cap + Decimal("0.5"))
    if rule.cap_fen is not None:
        assert fee.accrued <= rule.cap_fen


@settings(max_examples=300)
@given(rule=rules(), principal=principals, due=days, within=st.integers(-30, 40))
def test_no_fee_within_the_grace(rule: LateFeeRule, principal: int, due: date, within: int) -> None:
    on = due + timedelta(days=within)
    overdue, _ = days_counted(rule, due, on)
    fee = late_fee(rule, principal=principal, due=due, on=on, imported=7)
    if overdue <= rule.grace_days:
        assert (fee.accrued, fee.fee) == (0, 7)


def test_one_per_mille_a_day_rounded_once_at_the_end() -> None:
    rule = LateFeeRule(date(2026, 1, 1), None, Decimal(1))
    # 3 fen × 1‰ = 0.003 fen a day: rounded a day at a time it would stay 0 for ever
    fee = late_fee(rule, principal=3, due=date(2026, 1, 1), on=date(2026, 7, 20))
    assert (fee.days_charged, fee.accrued) == (200, 1)  # 0.6 fen, rounded half up
    fee = late_fee(rule, principal=12345, due=date(2026, 1, 1), on=date(2026, 1, 11))
    assert fee.accrued == 123  # 123.45


def test_working_days_skip_weekends_and_holidays() -> None:
    rule = LateFeeRule(date(2026, 1, 1), None, Decimal(1), grace_days=2, basis=DayBasis.WORKING)
    # due Wed 30 Sep 2026: 1-7 Oct is the National Day holiday; 8, 9, 10 (an adjusted
    # Saturday), 12 and 13 Oct are working days, Sunday 11 is not
    assert days_counted(rule, date(2026, 9, 30), date(2026, 10, 7)) == (0, 0)
    assert days_counted(rule, date(2026, 9, 30), date(2026, 10, 13)) == (5, 3)
    calendar_days = LateFeeRule(date(2026, 1, 1), None, Decimal(1), grace_days=2)
    assert days_counted(calendar_days, date(2026, 9, 30), date(2026, 10, 13)) == (13, 11)


def test_a_paid_bill_stops_on_the_day_it_was_paid() -> None:
    rule = LateFeeRule(date(2026, 1, 1), None, Decimal(1))
    args: dict[str, Any] = {"principal": 10000, "due": date(2026, 3, 1)}
    paid = late_fee(rule, **args, on=date(2026, 12, 1), paid_on=date(2026, 3, 11)).fee
    assert paid == late_fee(rule, **args, on=date(2026, 3, 11)).fee == 100


def test_a_class_rule_wins_over_the_general_one_and_dates_choose() -> None:
    general = LateFeeRule(date(2026, 1, 1), date(2026, 6, 30), Decimal(1), rule_id=1)
    later = LateFeeRule(date(2026, 7, 1), None, Decimal(2), rule_id=2)
    business = LateFeeRule(date(2026, 1, 1), None, Decimal(3), customer_class="business")
    found = [general, later, business]
    assert rule_for(found, "residential", date(2026, 6, 30)) is general
    assert rule_for(found, "residential", date(2026, 7, 1)) is later
    assert rule_for(found, "business", date(2026, 6, 30)) is business
    assert rule_for(found, "residential", date(2025, 12, 31)) is None
    assert general.overlaps(LateFeeRule(date(2026, 6, 30), None, Decimal(1)))
    assert not general.overlaps(later) and not general.overlaps(business)


# ``world`` (the biller) is committed once; each example's rows are rolled back
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rule=rules(),
    principal=principals,
    imported=st.one_of(st.just(0), st.integers(0, 10000)),
    due=days,
    on=days,
    klass=st.sampled_from([None, "residential", "business"]),
)
async def test_sql_gives_the_python_fee(
    engine: AsyncEngine,
    world: Any,
    rule: LateFeeRule,
    principal: int,
    imported: int,
    due: date,
    on: date,
    klass: str | None,
) -> None:
    clock = FrozenClock(START)
    rule = replace(rule, customer_class=klass)
    async with engine.connect() as conn:
        await conn.begin()
        try:
            await working.sync(conn, LAST)
            await latefee_service.add_rule(conn, clock, "BJWATER", rule, actor="t", reason="")
            await conn.execute(
                text(
                    "INSERT INTO customer_accounts (biller_id, account_no, holder_name, address,"
                    " created_at, language, customer_class) SELECT id, 'A1', '张三', '', now(),"
                    " 'zh-CN', 'residential' FROM billers WHERE code = 'BJWATER'"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO bills (biller_id, bill_no, account_no, period, amount, late_fee,"
                    " currency, due_date, status, issued_at) SELECT id, 'B1', 'A1', '2026-01',"
                    " :p, :i, 'CNY', :d, 'UNPAID', now() FROM billers WHERE code = 'BJWATER'"
                ),
                {"p": principal, "i": imported, "d": due},
            )
            in_sql = await conn.scalar(
                text("SELECT bill_late_fee(b.id, 'B1', :on) FROM billers b WHERE code = 'BJWATER'"),
                {"on": on},
            )
            applies = rule if klass in (None, "residential") else None
            expected = late_fee(applies, principal=principal, due=due, on=on, imported=imported)
            assert in_sql == expected.fee
            # the payment check's shortcut for a bill it holds gives the same fee
            held = await conn.scalar(
                text("SELECT bill_late_fee_of(b.id, 'B1', :d, :i, :on) FROM billers b"
                     " WHERE code = 'BJWATER'"),
                {"d": due, "i": imported, "on": on},
            )  # fmt: skip
            assert held == expected.fee
            shown = await latefee_service.bill_fee(conn, "BJWATER", "B1", on)
            assert shown.fee == expected
        finally:
            await conn.rollback()
