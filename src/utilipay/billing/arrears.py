"""The accounts owing the most at a day's end: hosted bills overdue then (due before the
day: a bill may be paid on its due date, as the aging report and the early warnings count
it) and not paid by then, per account, largest first, with the late fee their bills carry
that day.

For the monthly collection analysis (``collection/analysis.py``); a module of its own
beside ``repository.py``, which other work of issue 13 changes at the same time. Remote
utilities' bills live with them and are not here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import BigInteger, ColumnElement, cast, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billing.schemas import BillStatus
from utilipay.billing.tables import bills, customer_accounts


@dataclass(frozen=True, slots=True)
class Arrears:
    biller_id: int
    account_no: str
    holder_name: str
    bills: int
    owed: int  # fen: the bills' principal
    oldest_due: date
    late_fee: int  # fen: the bills' late fees on the day (``bill_late_fee``)


def _unpaid_at(billers: Collection[int], day: date, until: datetime) -> list[ColumnElement[bool]]:
    """Bills due before ``day`` and still unpaid at ``until``, the day's end."""
    return [
        bills.c.biller_id.in_(list(billers)),
        bills.c.due_date < day,
        bills.c.issued_at < until,
        or_(bills.c.status == BillStatus.UNPAID, bills.c.paid_at >= until),
    ]


async def largest_arrears(
    conn: AsyncConnection, billers: Collection[int], day: date, until: datetime, top: int
) -> list[Arrears]:
    """The ``top`` accounts by the principal they owe at ``until``, the end of ``day``
    (bills due before ``day``)."""
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
        .where(*_unpaid_at(billers, day, until))
        .group_by(bills.c.biller_id, bills.c.account_no, customer_accounts.c.holder_name)
        .order_by(owed.desc(), bills.c.biller_id, bills.c.account_no)
        .limit(top)
    )
    rows = (await conn.execute(query)).all()
    keys = [(r.biller_id, r.account_no) for r in rows]
    fees = await _late_fees(conn, keys, billers, day, until)
    return [Arrears(**r._mapping, late_fee=fees.get(k, 0)) for r, k in zip(rows, keys, strict=True)]


async def _late_fees(
    conn: AsyncConnection,
    keys: list[tuple[int, str]],
    billers: Collection[int],
    day: date,
    until: datetime,
) -> dict[tuple[int, str], int]:
    """The late fee on ``day`` of these accounts' unpaid bills, per account: the same
    ``bill_late_fee`` as every amount due, for these few accounts' bills only (a paid-late
    bill's fee stops the day it was paid, after ``day``)."""
    if not keys:
        return {}
    fee = cast(func.sum(func.bill_late_fee(bills.c.biller_id, bills.c.bill_no, day)), BigInteger)
    query = (
        select(bills.c.biller_id, bills.c.account_no, fee.label("fee"))
        .where(*_unpaid_at(billers, day, until))
        .where(tuple_(bills.c.biller_id, bills.c.account_no).in_(keys))
        .group_by(bills.c.biller_id, bills.c.account_no)
    )
    return {(r.biller_id, r.account_no): r.fee for r in await conn.execute(query)}
