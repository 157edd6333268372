"""The daily statement a biller downloads (对账单, biller-protocol.md §6).

Per biller and business day (Asia/Shanghai, by when the hub recorded the
outcome): a SUCCESS line for each write-off and a REVERSED line for each
write-off undone. A payment whose write-off the hub only learned of when
reversing it (written off, answer lost, reversed at the deadline) has both
lines, at the time of the reversal. A terminal payment voided (channel-api.md §11)
has its SUCCESS line when written off and its REVERSED line when voided. An order reversed
before it was ever written off changed nothing at the biller and has no line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.protocol.messages import OrderStatus, format_time
from utilipay.billers.schemas import Biller
from utilipay.clock import day_bounds
from utilipay.errors import DomainError, ErrorCode

_LINES = text(
    """
    SELECT p.id, p.biller_serial, p.account_no, p.amount, c.code AS channel, line.at, line.status
      FROM payments_orders p
      JOIN channels_directory c ON c.id = p.channel_id
     CROSS JOIN LATERAL (VALUES
           (CASE WHEN p.status IN ('SUCCEEDED', 'VOID_PENDING', 'VOIDED') THEN p.finished_at
                 WHEN p.status = 'FAILED' THEN p.reversed_at END, 'SUCCESS', 0),
           (p.reversed_at, 'REVERSED', 1)) AS line (at, status, rank)
     WHERE p.biller_id = :biller_id AND line.at >= :start AND line.at < :end
     ORDER BY line.at, p.id, line.rank
    """
)


@dataclass(frozen=True, slots=True)
class Line:
    orderno: str
    biller_serial: str
    account_no: str
    amount: int
    channel: str
    at: datetime
    status: OrderStatus  # SUCCESS or REVERSED

    def render(self) -> str:
        return (
            f"D|{self.orderno}|{self.biller_serial}|{self.account_no}|{self.amount}"
            f"|{self.channel}|{format_time(self.at)}|{self.status}"
        )


@dataclass(frozen=True, slots=True)
class Statement:
    biller: str
    day: date
    lines: list[Line]

    @property
    def net(self) -> int:
        return sum(
            line.amount if line.status is OrderStatus.SUCCESS else -line.amount
            for line in self.lines
        )

    def render(self) -> str:
        header = f"H|{self.biller}|{self.day:%Y%m%d}|{len(self.lines)}|{self.net}"
        return "".join(f"{line}\n" for line in [header, *(d.render() for d in self.lines)])


async def lines_between(
    conn: AsyncConnection, biller_id: int, start: datetime, end: datetime
) -> list[Line]:
    """The statement lines of outcomes the hub recorded in [start, end)."""
    rows = await conn.execute(_LINES, {"biller_id": biller_id, "start": start, "end": end})
    return [
        Line(r.id, r.biller_serial, r.account_no, r.amount, r.channel, r.at, OrderStatus(r.status))
        for r in rows
    ]


async def build(conn: AsyncConnection, biller: Biller, day: date, now: datetime) -> Statement:
    start, end = day_bounds(day)
    if now < end:
        raise DomainError(
            ErrorCode.NOT_READY,
            f"business day {day:%Y%m%d} has not ended yet (Asia/Shanghai)",
        )
    return Statement(biller.code, day, await lines_between(conn, biller.id, start, end))
