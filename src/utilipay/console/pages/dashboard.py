"""The dashboard: the payment anomalies of the last minutes (``metrics.traffic``), today's
and this month's payments by channel and by utility, the payments whose outcome is
unknown, every backlog of ``/metrics``, the last reconciliation and settlement of each
utility, and 30 days of payments per channel as a chart and a table.

Utility staff see their utility and its branches only (the hub's queues, which mix every
utility's work, are not theirs). Every figure comes from an index or the payments' rollup
(``payments.rollups``), never a scan of the payments: the page stays fast with millions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from utilipay.billers import repository as billers
from utilipay.channels import repository as channels
from utilipay.clock import business_date
from utilipay.console.i18n import words
from utilipay.console.templating import render
from utilipay.console.visits import host, needs
from utilipay.metrics.anomalies import Kind, Rules
from utilipay.metrics.service import Backlog, backlogs
from utilipay.metrics.traffic import traffic
from utilipay.payments import rollups
from utilipay.payments.rollups import DayCount
from utilipay.payments.schemas import PaymentStatus
from utilipay.recon import repository as recon
from utilipay.settlement import repository as settlement
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
CHART_DAYS = 30
UNKNOWN_SHOWN = 20
# the anomalies of /metrics (metrics/anomalies.py), as the dashboard names them
ANOMALY_KINDS = {
    Kind.FAILURES: words("Failures rising"),
    Kind.UNKNOWN: words("Outcomes unknown"),
    Kind.LATENCY: words("Slower than usual"),
    Kind.VOLUME: words("Fewer payments than usual"),
}


@dataclass(slots=True)
class Tally:
    """Payments counted: all of them, by outcome, and the money of those that succeeded."""

    payments: int = 0
    succeeded: int = 0
    failed: int = 0
    amount: int = 0  # fen, of the succeeded

    def add(self, count: DayCount) -> None:
        self.payments += count.payments
        if count.status is PaymentStatus.SUCCEEDED:
            self.succeeded += count.payments
            self.amount += count.amount
        elif count.status is PaymentStatus.FAILED:
            self.failed += count.payments

    @property
    def processing(self) -> int:
        return self.payments - self.succeeded - self.failed

    @property
    def success_rate(self) -> str:
        """Of the payments whose outcome is known."""
        known = self.succeeded + self.failed
        return "—" if known == 0 else f"{100 * self.succeeded / known:.1f}%"


@dataclass(slots=True)
class Period:
    """A period's payments, in total, by channel code and by utility code."""

    total: Tally = field(default_factory=Tally)
    by_channel: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_biller: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))

    def add(self, count: DayCount, channel: str, biller: str) -> None:
        for tally in (self.total, self.by_channel[channel], self.by_biller[biller]):
            tally.add(count)


@dataclass(frozen=True, slots=True)
class Daily:
    """Payments per day and channel, for the chart and its table."""

    days: list[date]
    channels: list[str]
    counts: dict[str, list[int]]  # channel code -> a count per day

    def chart(self) -> dict[str, object]:
        return {"days": [d.isoformat() for d in self.days], "series": self.counts}


def age(seconds: float) -> str:
    """``H:MM:SS`` (hours past 24 as they are): the same in every language."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _periods(
    counts: list[DayCount], today: date, channel_codes: dict[int, str], biller_codes: dict[int, str]
) -> tuple[Period, Period, Daily]:
    today_, month = Period(), Period()
    days = [today - timedelta(days=n) for n in reversed(range(CHART_DAYS))]
    per_day: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for count in counts:
        channel = channel_codes.get(count.channel_id, str(count.channel_id))
        biller = biller_codes.get(count.biller_id, str(count.biller_id))
        if count.day == today:
            today_.add(count, channel, biller)
        if (count.day.year, count.day.month) == (today.year, today.month):
            month.add(count, channel, biller)
        per_day[channel][count.day] += count.payments
    codes = sorted(per_day)
    series = {code: [per_day[code].get(d, 0) for d in days] for code in codes}
    return today_, month, Daily(days, codes, series)


@router.get("/dashboard")
async def dashboard(
    request: Request, staff: Annotated[Staff, needs(Permission.DASHBOARD)]
) -> Response:
    hub = host(request)
    now = hub.clock.now()
    today = business_date(now)
    since = min(today.replace(day=1), today - timedelta(days=CHART_DAYS - 1))
    async with hub.engine.connect() as conn:
        seen = [b for b in await billers.all_billers(conn) if staff.may_see(b.id)]
        channel_codes = {c.id: c.code for c in await channels.all_channels(conn)}
        counts = await rollups.days(conn, since, today, staff.billers)
        unknown = await rollups.unknown_outcomes(conn, staff.billers, UNKNOWN_SHOWN)
        backlog = await backlogs(conn, now)
        recent = await traffic(conn, now, Rules(), staff.billers)
        last_recon = await recon.last_runs(conn, [b.code for b in seen])
        last_settled = await settlement.last_settlements(conn, [b.id for b in seen])
    biller_codes = {b.id: b.code for b in seen}
    today_figures, month_figures, daily = _periods(counts, today, channel_codes, biller_codes)
    return render(
        request,
        "dashboard.html",
        today=today,
        now=now,
        recent=recent,
        anomaly_kinds=ANOMALY_KINDS,
        today_figures=today_figures,
        month_figures=month_figures,
        daily=daily,
        unknown=unknown,
        unknown_per_biller=_in_scope(backlog.unresolved_payments, set(biller_codes.values())),
        queues=backlog.queues if staff.billers is None else None,
        billers=seen,
        biller_codes=biller_codes,
        channel_codes=channel_codes,
        last_recon=last_recon,
        last_settled=last_settled,
        age=age,
        seconds_since=lambda at: (now - at).total_seconds(),
    )


def _in_scope(per_biller: dict[str, Backlog], codes: set[str]) -> dict[str, Backlog]:
    return {code: backlog for code, backlog in per_biller.items() if code in codes}
