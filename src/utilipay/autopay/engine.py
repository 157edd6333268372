"""One pass of the auto-pay engine, as of an instant: ``utilipay autopay run [--now …]``.

The worker runs it every few seconds with the real clock; tests and operators
run it with any clock, so weeks of calendar go by in milliseconds.

1. the working-day calendar is brought up to date (once a day);
2. remote billers are asked for new bills of accounts with a mandate;
3. every new bill of a mandate gets its debit, set-based (``schedule``), and every
   low prepaid balance with a mandate its top-up (``prepaid.autotopup``);
4. the due debits are sent, asked after, and written off (``send``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.autopay.poll import poll_due
from utilipay.autopay.schedule import schedule_debits
from utilipay.autopay.send import Senders
from utilipay.autopay.sending import send_due
from utilipay.autopay.topups import schedule_topups
from utilipay.calendar import working as calendar
from utilipay.clock import Clock, business_date
from utilipay.common.passes import Pass


@dataclass(frozen=True, slots=True)
class AutopayPass:
    polled: Pass
    scheduled: dict[str, int]
    sent: Pass


@dataclass
class AutopayEngine:
    engine: AsyncEngine
    senders: Senders
    _calendar_synced: date | None = field(default=None, repr=False)

    async def run_once(self, clock: Clock) -> AutopayPass:
        today = business_date(clock.now())
        if self._calendar_synced != today:
            async with self.engine.begin() as conn:
                await calendar.sync(conn, today + timedelta(days=14))
            self._calendar_synced = today
        polled = await poll_due(
            self.engine,
            clock,
            self.senders.remote_billers,
            self.senders.biller_by_id,
        )
        async with self.engine.begin() as conn:
            scheduled = await schedule_debits(conn, clock.now())
            topups = await schedule_topups(conn, clock.now())
        if topups:
            scheduled["topup_scheduled"] = topups
        sent = await send_due(self.engine, clock, self.senders)
        return AutopayPass(polled, scheduled, sent)
