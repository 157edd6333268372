"""The prepaid pass the worker runs every quarter of an hour, as of its clock.

1. settle every day due through yesterday (Shanghai), one transaction per day;
   accounts whose reading of a day is late simply wait for the next pass;
2. cut the accounts whose grace is over (only on working days, 09:00-17:00);
3. issue last month's statements to the accounts settled through its end.

Each step is safe to repeat, so a pass that dies half-way is finished by the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import Clock, business_date
from utilipay.prepaid.accrual import DayAccrued, accrue_through
from utilipay.prepaid.cuts import cut_due
from utilipay.prepaid.statements import issue_statements, last_month


@dataclass(frozen=True, slots=True)
class PrepaidPass:
    days: list[DayAccrued]
    cut: int
    statements: int

    @property
    def worked(self) -> bool:
        return any(d.accounts for d in self.days) or self.cut > 0 or self.statements > 0


async def run_prepaid(engine: AsyncEngine, clock: Clock) -> PrepaidPass:
    today = business_date(clock.now())
    days = await accrue_through(engine, clock, today - timedelta(days=1))
    async with engine.begin() as conn:
        cut = await cut_due(conn, clock.now())
    async with engine.begin() as conn:
        statements = await issue_statements(conn, last_month(today), clock.now())
    return PrepaidPass(days, cut, statements)
