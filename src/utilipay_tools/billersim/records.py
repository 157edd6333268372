"""The simulator's own records, for judging the hub against them.

``statement_lines`` is what the utility expects the hub's daily statement
(biller-protocol.md §6) to say, line for line; ``standing_write_offs`` says, per
orderno, whether the utility holds a write-off for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.protocol.messages import OrderStatus, format_date, format_time
from utilipay.clock import SHANGHAI
from utilipay_tools.billersim.tables import OrderState, tables_for


@dataclass(frozen=True, slots=True, order=True)
class _Line:
    # Sorted by time, then orderno; within both, a write-off before its reversal.
    time: str
    orderno: str
    reversal: bool
    text: str = field(compare=False)
    net: int = field(compare=False)  # what the line adds to the header's net


def _lines(order: Any, start: datetime, end: datetime) -> list[_Line]:
    head = (
        f"D|{order.orderno}|{order.billerserial}|{order.account_no}|{order.amount}|{order.channel}"
    )
    lines = []
    if start <= order.written_off_at < end:
        at = format_time(order.written_off_at)
        lines.append(
            _Line(at, order.orderno, False, f"{head}|{at}|{OrderStatus.SUCCESS}", order.amount)
        )
    if order.status == OrderState.REVERSED and start <= order.reversed_at < end:
        at = format_time(order.reversed_at)
        lines.append(
            _Line(at, order.orderno, True, f"{head}|{at}|{OrderStatus.REVERSED}", -order.amount)
        )
    return lines


async def statement_lines(conn: AsyncConnection, schema: str, biller: str, day: date) -> list[str]:
    """The ``H`` line, then a ``D`` line per outcome on ``day`` (Asia/Shanghai), in §6 order."""
    t = tables_for(schema)
    start = datetime.combine(day, time(), SHANGHAI)
    end = start + timedelta(days=1)
    o = t.orders.c
    # BLOCKED orders were never written off: they changed nothing and have no line.
    rows = await conn.execute(
        select(t.orders).where(
            o.status != OrderState.BLOCKED,
            or_(
                and_(o.written_off_at >= start, o.written_off_at < end),
                and_(o.reversed_at >= start, o.reversed_at < end),
            ),
        )
    )
    lines = sorted(line for row in rows for line in _lines(row, start, end))
    net = sum(line.net for line in lines)
    return [f"H|{biller}|{format_date(day)}|{len(lines)}|{net}", *(line.text for line in lines)]


async def standing_write_offs(conn: AsyncConnection, schema: str) -> dict[str, bool]:
    """Every orderno the utility has seen: True while it is written off and not reversed."""
    t = tables_for(schema)
    rows = await conn.execute(select(t.orders.c.orderno, t.orders.c.status))
    return {r.orderno: r.status == OrderState.WRITTEN_OFF for r in rows}
