from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billing.schemas import Bill, BillStatus, CustomerAccount, StoredBill
from utilipay.billing.tables import bills, customer_accounts

_CHUNK = 5000
# every column of a bill but the imported late fee, for reads that compute it instead
_COLUMNS = [c for c in bills.c if c.name != "late_fee"]


def _bill(row: Any) -> Bill:
    return Bill(
        bill_no=row.bill_no,
        account_no=row.account_no,
        period=row.period,
        amount=row.amount,
        late_fee=row.late_fee,
        due_date=row.due_date,
    )


async def account(conn: AsyncConnection, biller_id: int, account_no: str) -> CustomerAccount | None:
    row = (
        await conn.execute(
            select(customer_accounts).where(
                customer_accounts.c.biller_id == biller_id,
                customer_accounts.c.account_no == account_no,
            )
        )
    ).first()
    if row is None:
        return None
    return CustomerAccount(row.account_no, row.holder_name, row.address)


def _due_on(on: date) -> ColumnElement[int]:
    """A bill's late fee on ``on`` (``sql/late_fees.sql``), in place of the imported one."""
    b = bills.c
    return func.bill_late_fee_of(b.biller_id, b.bill_no, b.due_date, b.late_fee, on).label(
        "late_fee"
    )


async def unpaid_bills(
    conn: AsyncConnection, biller_id: int, account_no: str, on: date
) -> list[Bill]:
    """The account's unpaid bills, oldest first, with their late fees on ``on``."""
    rows = await conn.execute(
        select(*_COLUMNS, _due_on(on))
        .where(
            bills.c.biller_id == biller_id,
            bills.c.account_no == account_no,
            bills.c.status == BillStatus.UNPAID,
        )
        .order_by(bills.c.due_date, bills.c.bill_no)
    )
    return [_bill(r) for r in rows]


async def accounts_by_no(
    conn: AsyncConnection, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], str]:
    """Holder names of existing accounts among ``keys`` (biller_id, account_no)."""
    found: dict[tuple[int, str], str] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        rows = await conn.execute(
            select(
                customer_accounts.c.biller_id,
                customer_accounts.c.account_no,
                customer_accounts.c.holder_name,
            ).where(
                tuple_(customer_accounts.c.biller_id, customer_accounts.c.account_no).in_(chunk)
            )
        )
        found.update({(r.biller_id, r.account_no): r.holder_name for r in rows})
    return found


async def bill_by_no(conn: AsyncConnection, biller_id: int, bill_no: str) -> StoredBill | None:
    """A bill with its status and payment, or None."""
    row = (
        await conn.execute(
            select(bills).where(bills.c.biller_id == biller_id, bills.c.bill_no == bill_no)
        )
    ).one_or_none()
    return None if row is None else StoredBill(_bill(row), BillStatus(row.status), row.payment_id)


async def paid_bills(
    conn: AsyncConnection, biller_id: int, bill_nos: Sequence[str], paid_on: date
) -> dict[str, Bill]:
    """Bills as a payment on ``paid_on`` paid them: their late fees that day."""
    rows = await conn.execute(
        select(*_COLUMNS, _due_on(paid_on)).where(
            bills.c.biller_id == biller_id, bills.c.bill_no.in_(bill_nos)
        )
    )
    return {r.bill_no: _bill(r) for r in rows}


async def bills_by_no(
    conn: AsyncConnection, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], Bill]:
    found: dict[tuple[int, str], Bill] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        rows = await conn.execute(
            select(bills).where(tuple_(bills.c.biller_id, bills.c.bill_no).in_(chunk))
        )
        found.update({(r.biller_id, r.bill_no): _bill(r) for r in rows})
    return found


async def insert_accounts(conn: AsyncConnection, values: list[dict[str, Any]]) -> None:
    for start in range(0, len(values), _CHUNK):
        await conn.execute(insert(customer_accounts), values[start : start + _CHUNK])


async def rename_holders(conn: AsyncConnection, values: list[dict[str, Any]]) -> None:
    stmt = (
        update(customer_accounts)
        .where(
            customer_accounts.c.biller_id == bindparam("b_biller"),
            customer_accounts.c.account_no == bindparam("b_account"),
        )
        .values(holder_name=bindparam("b_holder"))
    )
    for start in range(0, len(values), _CHUNK):
        await conn.execute(stmt, values[start : start + _CHUNK])


async def insert_bills(
    conn: AsyncConnection,
    values: list[dict[str, Any]],
    progress: Callable[[int], None] | None = None,
) -> None:
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        await conn.execute(insert(bills), chunk)
        if progress:
            progress(len(chunk))
