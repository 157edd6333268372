"""The accounts owing the most at a day's end: hosted bills overdue then (due before the
day: a bill may be paid on its due date, as the aging report and the early warnings count
it) and not paid by then, per account, largest first.

For the monthly collection analysis (``collection/analysis.py``); a module of its own
beside ``repository.py``, which other work of issue 13 changes at the same time. Remote
utilities' bills live with them and are not here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import BigInteger, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billing.schemas import BillStatus
from utilipay.billing.tables import bills, customer_accounts


@dataclass(frozen=True, slots=True)
class Arrears:
    biller_id: int
    account_no: str
    holder_name: str
    bills: int
    owed: int  # fen: the bills' principal (the late fee is the bill's own rule)
    oldest_due: date


async def largest_arrears(
    conn: AsyncConnection, billers: Collection[int], day: date, until: datetime, top: int
) -> list[Arrears]:
    """Bills due before ``day`` and still unpaid at ``until``, the day's end."""
    # a sum of bigint is numeric in PostgreSQL: back to whole fen, as every amount here is
    owed = cast(func.sum(bills.c.amount), BigInteger)
    query = (
        select(
            bills.c.biller_id,
            bills.c.account_no,
            customer_accounts.c.holder_name,
            func.count().label("bills"),
            owed.label("owed"),
            func.min(bills.c.due_date).label("oldest_due"),
        )
        .join(
            customer_accounts,
            (customer_accounts.c.biller_id == bills.c.biller_id)
            & (customer_accounts.c.account_no == bills.c.account_no),
        )
        .where(
            bills.c.biller_id.in_(list(billers)),
            bills.c.due_date < day,
            bills.c.issued_at < until,
            or_(bills.c.status == BillStatus.UNPAID, bills.c.paid_at >= until),
        )
        .group_by(bills.c.biller_id, bills.c.account_no, customer_accounts.c.holder_name)
        .order_by(owed.desc(), bills.c.biller_id, bills.c.account_no)
        .limit(top)
    )
    return [Arrears(**row._mapping) for row in await conn.execute(query)]
