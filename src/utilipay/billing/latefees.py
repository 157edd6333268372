"""Late fees (违约金) of hosted bills: the domain rule, in plain Python.

A utility's rule is data, effective-dated like the tariffs: from a first day to a last
day (inclusive; open-ended when none), for every customer class or for one (a class's
own rule wins over the all-classes rule in force on the same day). It says:

- ``daily_per_mille``: the fee a day, in per mille (‰) of the overdue principal (the
  bill's ``amount``); residential electricity is typically 1‰ a day;
- ``grace_days``: overdue days that are never charged (the fee counts the days after
  them only);
- ``basis``: whether days are calendar days or mainland working days (``calendar_days``,
  adjusted weekends included);
- a cap on the fee: ``cap_fen`` (an amount), ``cap_percent`` (of the principal), both
  (the lower holds) or none.

The rule in force on the bill's due date governs the bill for good: a bill's terms are
fixed when it falls due, and a rule changed later applies to bills falling due later (it
also keeps the fee non-decreasing in the date). The fee is computed in ``Decimal`` and
rounded once, half up, to fen: never a day at a time. A paid bill's fee stops on the
day it was paid (Asia/Shanghai).

The bill's late fee on a day is that computed fee, plus the ``late_fee`` column imported
with the bill (a fee a previous system already assessed), less the waivers. The same
rule runs in SQL (``sql/late_fees.sql``, ``bill_late_fee``), which every amount due
(the payment check, the bill query, the receipt, vouchers, auto-pay, reminders) goes
through; the tests hold the two to the same answers. Remote utilities send their own
late fee and none of this applies to them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from utilipay.calendar.working import is_working

PER_MILLE = Decimal(1000)
PERCENT = Decimal(100)
# A day's fee above 1 % of the principal is no utility's rule (the commercial rate of the
# power supply rules is 3‰): a larger figure is a typing mistake.
MAX_DAILY_PER_MILLE = Decimal(10)
RATE_DECIMALS = 4  # numeric(8, 4)
MAX_GRACE_DAYS = 366
MAX_CAP_FEN = 10**12
CLASS = re.compile(r"[a-z][a-z0-9_]{1,31}")  # as customer_accounts.customer_class


class DayBasis(StrEnum):
    CALENDAR = "calendar"
    WORKING = "working"


@dataclass(frozen=True, slots=True)
class LateFeeRule:
    effective_from: date
    effective_to: date | None  # the last day in force; None: until further notice
    daily_per_mille: Decimal
    grace_days: int = 0
    basis: DayBasis = DayBasis.CALENDAR
    cap_fen: int | None = None
    cap_percent: Decimal | None = None
    customer_class: str | None = None  # None: every class
    rule_id: int | None = None  # once stored

    def problems(self) -> list[str]:
        """What makes this rule unusable, in words (empty: none)."""
        found = []
        rate = self.daily_per_mille
        if not rate.is_finite() or not Decimal(0) < rate <= MAX_DAILY_PER_MILLE:
            found.append(f"daily rate {rate}‰ must be above 0 and at most {MAX_DAILY_PER_MILLE}‰")
        elif rate.as_tuple().exponent < -RATE_DECIMALS:  # type: ignore[operator]
            found.append(f"daily rate {rate}‰ has more than {RATE_DECIMALS} decimals")
        if not 0 <= self.grace_days <= MAX_GRACE_DAYS:
            found.append(f"grace of {self.grace_days} days must be 0..{MAX_GRACE_DAYS}")
        if self.cap_fen is not None and not 0 < self.cap_fen <= MAX_CAP_FEN:
            found.append(f"cap {self.cap_fen} fen must be 1..{MAX_CAP_FEN}")
        pct = self.cap_percent
        if pct is not None and (not pct.is_finite() or not Decimal(0) < pct <= PERCENT):
            found.append(f"cap {pct}% must be above 0 and at most 100%")
        if self.customer_class is not None and not CLASS.fullmatch(self.customer_class):
            found.append(f"customer class {self.customer_class!r} must be like 'residential'")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            found.append(f"last day {self.effective_to} is before first day {self.effective_from}")
        return found

    def in_force(self, day: date) -> bool:
        last = self.effective_to or date.max
        return self.effective_from <= day <= last

    def overlaps(self, other: LateFeeRule) -> bool:
        """Both in force on some day for the same customers."""
        if self.customer_class != other.customer_class:
            return False
        ends = (self.effective_to or date.max, other.effective_to or date.max)
        return max(self.effective_from, other.effective_from) <= min(ends)

    def describe(self) -> str:
        until = self.effective_to.isoformat() if self.effective_to else "open-ended"
        who = self.customer_class or "every class"
        name = f"rule {self.rule_id}" if self.rule_id is not None else "the new rule"
        return f"{name} ({self.effective_from}..{until}, {who})"

    def cap(self, principal: int) -> Decimal | None:
        """The most the computed fee reaches on ``principal``, before rounding."""
        caps = [Decimal(self.cap_fen)] if self.cap_fen is not None else []
        if self.cap_percent is not None:
            caps.append(Decimal(principal) * self.cap_percent / PERCENT)
        return min(caps, default=None)


def rule_for(rules: list[LateFeeRule], customer_class: str, due: date) -> LateFeeRule | None:
    """The rule that governs a bill due on ``due``: the class's own, else the general one."""
    in_force = [r for r in rules if r.in_force(due) and r.customer_class in (customer_class, None)]
    return min(in_force, key=lambda r: r.customer_class is None, default=None)


def days_counted(
    rule: LateFeeRule, due: date, on: date, working: Callable[[date], bool] = is_working
) -> tuple[int, int]:
    """(days overdue on ``on``, of them the days charged) in the rule's basis."""
    if on <= due:
        return 0, 0
    if rule.basis is DayBasis.CALENDAR:
        overdue = (on - due).days
    else:
        overdue = sum(working(due + timedelta(days=n)) for n in range(1, (on - due).days + 1))
    return overdue, max(0, overdue - rule.grace_days)


@dataclass(frozen=True, slots=True)
class LateFee:
    """How a bill's late fee on a day comes about, every figure in fen but the rate."""

    principal: int
    days_overdue: int
    days_charged: int
    daily_per_mille: Decimal
    cap: Decimal | None
    accrued: int  # by the rule, capped, rounded once
    imported: int  # assessed by a previous system, from the bills file
    waived: int

    @property
    def fee(self) -> int:
        return self.accrued + self.imported - self.waived

    @property
    def amount_due(self) -> int:
        return self.principal + self.fee


def late_fee(
    rule: LateFeeRule | None,
    *,
    principal: int,
    due: date,
    on: date,
    imported: int = 0,
    waived: int = 0,
    paid_on: date | None = None,
    working: Callable[[date], bool] = is_working,
) -> LateFee:
    """A bill's late fee on ``on`` (its amount is ``principal``, due on ``due``)."""
    counted_to = on if paid_on is None else min(on, paid_on)
    if rule is None:
        return LateFee(principal, 0, 0, Decimal(0), None, 0, imported, waived)
    overdue, charged = days_counted(rule, due, counted_to, working)
    exact = Decimal(principal) * rule.daily_per_mille * charged / PER_MILLE
    cap = rule.cap(principal)
    if cap is not None:
        exact = min(exact, cap)
    accrued = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    rate = rule.daily_per_mille
    return LateFee(principal, overdue, charged, rate, cap, accrued, imported, waived)
