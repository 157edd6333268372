"""The accounts owing the most at a day's end: hosted bills due by then and not paid by
then, per account, largest first.

A read of the billing area's tables (``bills``, ``customer_accounts``) that the billing
area does not offer yet; it belongs in ``billing/repository.py`` (issue 13: to move when
the areas merge). Remote utilities' bills live with them and are not here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_LARGEST = text(
    """
    SELECT b.biller_id, b.account_no, a.holder_name, count(*) AS bills,
           sum(b.amount) AS owed, min(b.due_date) AS oldest_due
      FROM bills b
      JOIN customer_accounts a USING (biller_id, account_no)
     WHERE b.biller_id = ANY(:billers)
       AND b.due_date <= :day
       AND b.issued_at < :until
       AND (b.status = 'UNPAID' OR b.paid_at >= :until)
     GROUP BY b.biller_id, b.account_no, a.holder_name
     ORDER BY owed DESC, b.biller_id, b.account_no
     LIMIT :top
    """
)


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
    """Bills due by ``day`` and still unpaid at ``until``, the day's end."""
    rows = await conn.execute(
        _LARGEST, {"billers": list(billers), "day": day, "until": until, "top": top}
    )
    return [Arrears(**row._mapping) for row in rows]
