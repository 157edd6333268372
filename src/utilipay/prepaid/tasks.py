"""The prepaid pass the worker runs every quarter of an hour, as of its clock.

1. settle every day due through yesterday (Shanghai), one transaction per day;
   accounts whose reading of a day is late simply wait for the next pass, and the
   pass says how many wait and since which day (a meter that stopped reporting
   holds its account back for good, and a person has to look);
2. cut the accounts whose grace is over (only on working days, 09:00-17:00), and count
   those held back because their outage warning has not gone out (long enough ago);
3. issue last month's statements to the accounts settled through its end.

Each step is safe to repeat, so a pass that dies half-way is finished by the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import Clock, business_date
from utilipay.prepaid.accrual import DayAccrued, accrue_through
from utilipay.prepaid.cuts import cut_due, held_for_warning
from utilipay.prepaid.statements import issue_statements, last_month

# Accounts with a day before ``today`` still to settle after the pass: their reading is late.
_WAITING = text(
    "SELECT count(*), min(coalesce(accrued_through + 1, accrue_from)) FROM prepaid_accounts"
    " WHERE coalesce(accrued_through + 1, accrue_from) < :today"
)


@dataclass(frozen=True, slots=True)
class PrepaidPass:
    days: list[DayAccrued]
    cut: int
    statements: int
    waiting: int = 0  # accounts a late reading holds back
    waiting_since: date | None = None  # the earliest day they wait to settle
    held_for_warning: int = 0  # in arrears past the grace, not cut: not warned long enough

    @property
    def worked(self) -> bool:
        return any(d.accounts for d in self.days) or self.cut > 0 or self.statements > 0


async def run_prepaid(engine: AsyncEngine, clock: Clock) -> PrepaidPass:
    today = business_date(clock.now())
    days = await accrue_through(engine, clock, today - timedelta(days=1))
    async with engine.begin() as conn:
        cut = await cut_due(conn, clock.now())
        held = await held_for_warning(conn, clock.now())
    async with engine.begin() as conn:
        statements = await issue_statements(conn, last_month(today), clock.now())
        waiting, since = (await conn.execute(_WAITING, {"today": today})).one()
    return PrepaidPass(days, cut, statements, waiting, since, held)
