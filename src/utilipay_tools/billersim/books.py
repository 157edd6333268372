"""The utility's four transactions on its own books (biller-protocol.md §4).

Each function runs inside the caller's transaction and returns the ``Outcome``
to answer with. Concurrency:

- ``charge`` and ``refund`` first take a transaction-scoped advisory lock on the
  orderno, so a repeated or concurrent charge, or a refund racing a charge,
  waits for the one before and sees its outcome: one orderno, one write-off.
- A charge then locks its bills in bill-number order (a refund does the same),
  so two orders for one bill never deadlock and exactly one writes it off.
- ``confirm`` only tries that orderno lock in shared mode: not getting it means
  a charge or refund of that orderno is being processed right now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.protocol.codes import Code
from utilipay.billers.protocol.messages import (
    BillItem,
    Body,
    ChargeAnswer,
    ChargeRequest,
    ConfirmAnswer,
    OrderStatus,
    QueryAnswer,
    RefundAnswer,
    RefundRequest,
)
from utilipay.clock import Clock
from utilipay.common.masking import mask_address, mask_name
from utilipay_tools.billersim.tables import OrderState, SimTables


@dataclass(frozen=True, slots=True)
class Outcome:
    code: Code
    msg: str
    body: Body | None = None


def _ok(body: Body) -> Outcome:
    return Outcome(Code.OK, "success", body)


# ---------------------------------------------------------------- query


async def query(conn: AsyncConnection, t: SimTables, account_no: str) -> Outcome:
    holder = (
        await conn.execute(select(t.accounts).where(t.accounts.c.account_no == account_no))
    ).first()
    if holder is None:
        return Outcome(Code.ACCOUNT_NOT_FOUND, f"no account {account_no}")
    rows = await conn.execute(
        select(t.bills)
        .where(t.bills.c.account_no == account_no, t.bills.c.paid_by.is_(None))
        .order_by(t.bills.c.due_date, t.bills.c.bill_no)
    )
    bills = tuple(BillItem(r.bill_no, r.period, r.amount, r.late_fee, r.due_date) for r in rows)
    if not bills:
        return Outcome(Code.NOTHING_DUE, f"nothing due on account {account_no}")
    return _ok(
        QueryAnswer(
            account=account_no,
            name=mask_name(holder.holder_name),
            address=mask_address(holder.address),
            bills=bills,
            total=sum(b.amount + b.latefee for b in bills),
        )
    )


# ---------------------------------------------------------------- orders


def _order_key(t: SimTables, orderno: str) -> tuple[Any, Any]:
    # Two int4 keys: the schema's namespace and the orderno, so simulators in
    # other schemas of the same database never wait on each other.
    return func.hashtext(f"utilipay_tools.billersim:{t.schema}"), func.hashtext(orderno)


async def _lock_order(conn: AsyncConnection, t: SimTables, orderno: str) -> None:
    await conn.execute(select(func.pg_advisory_xact_lock(*_order_key(t, orderno))))


async def _order(conn: AsyncConnection, t: SimTables, orderno: str) -> Any:
    return (await conn.execute(select(t.orders).where(t.orders.c.orderno == orderno))).first()


# ---------------------------------------------------------------- charge


async def charge(conn: AsyncConnection, t: SimTables, clock: Clock, req: ChargeRequest) -> Outcome:
    await _lock_order(conn, t, req.orderno)
    order = await _order(conn, t, req.orderno)
    if order is not None:
        return _charged_before(order)
    if len(set(req.billnos)) != len(req.billnos):
        return Outcome(Code.MALFORMED, "a bill is listed twice")
    known = await conn.scalar(
        select(t.accounts.c.account_no).where(t.accounts.c.account_no == req.account)
    )
    if known is None:
        return Outcome(Code.ACCOUNT_NOT_FOUND, f"no account {req.account}")
    bills = await _lock_bills(conn, t, req.account, req.billnos)
    refused = _refusal(req, bills)
    if refused is not None:
        return refused
    return _ok(ChargeAnswer(req.orderno, await _write_off(conn, t, clock, req), req.amount))


async def _write_off(conn: AsyncConnection, t: SimTables, clock: Clock, req: ChargeRequest) -> str:
    """Record the order and mark its (locked, checked) bills paid; its new billerserial."""
    serial = f"W{await conn.scalar(select(t.serials.next_value())):010d}"
    await conn.execute(
        insert(t.orders).values(
            orderno=req.orderno,
            status=OrderState.WRITTEN_OFF,
            billerserial=serial,
            account_no=req.account,
            amount=req.amount,
            bill_nos=sorted(req.billnos),
            channel=req.channel,
            paytime=req.paytime,
            written_off_at=clock.now(),
        )
    )
    await conn.execute(
        update(t.bills).where(t.bills.c.bill_no.in_(req.billnos)).values(paid_by=req.orderno)
    )
    return serial


def _charged_before(order: Any) -> Outcome:
    """A charge for an orderno this utility has seen: the same write-off, or refused."""
    if order.status == OrderState.WRITTEN_OFF:
        # The idempotent answer: the original write-off, whatever this request says.
        return _ok(ChargeAnswer(order.orderno, order.billerserial, order.amount))
    return Outcome(Code.ORDER_REVERSED, f"order {order.orderno} was reversed")


async def _lock_bills(
    conn: AsyncConnection, t: SimTables, account_no: str, bill_nos: Sequence[str]
) -> list[Any]:
    """The account's bills among ``bill_nos``, row-locked in bill-number order."""
    rows = await conn.execute(
        select(t.bills)
        .where(t.bills.c.account_no == account_no, t.bills.c.bill_no.in_(bill_nos))
        .order_by(t.bills.c.bill_no)
        .with_for_update()
    )
    return list(rows)


def _refusal(req: ChargeRequest, bills: Sequence[Any]) -> Outcome | None:
    missing = sorted(set(req.billnos) - {b.bill_no for b in bills})
    if missing:
        # Not a bill of this account (or no bill at all): nothing is due under that number.
        return Outcome(Code.NOTHING_DUE, f"no bill {missing[0]} due on account {req.account}")
    paid = [b.bill_no for b in bills if b.paid_by is not None]
    if paid:
        return Outcome(Code.BILL_PAID_BY_OTHER_ORDER, f"bill {paid[0]} is paid by another order")
    total = sum(b.amount + b.late_fee for b in bills)
    if total != req.amount:
        return Outcome(Code.AMOUNT_MISMATCH, f"the bills come to {total}, not {req.amount}")
    return None


# ---------------------------------------------------------------- confirm


async def confirm(conn: AsyncConnection, t: SimTables, orderno: str) -> Outcome:
    free = await conn.scalar(select(func.pg_try_advisory_xact_lock_shared(*_order_key(t, orderno))))
    if not free:
        return _ok(ConfirmAnswer(orderno, OrderStatus.PROCESSING))
    order = await _order(conn, t, orderno)
    if order is None:
        return _ok(ConfirmAnswer(orderno, OrderStatus.NOTFOUND))
    if order.status == OrderState.BLOCKED:
        # Refunded before any charge: it was never written off and never will be.
        return _ok(ConfirmAnswer(orderno, OrderStatus.FAILED))
    status = OrderStatus.SUCCESS if order.status == OrderState.WRITTEN_OFF else OrderStatus.REVERSED
    return _ok(ConfirmAnswer(orderno, status, order.billerserial, order.amount))


# ---------------------------------------------------------------- refund


async def refund(conn: AsyncConnection, t: SimTables, clock: Clock, req: RefundRequest) -> Outcome:
    await _lock_order(conn, t, req.orderno)
    order = await _order(conn, t, req.orderno)
    if order is None:
        # Never charged: remember the orderno, so a delayed charge is refused (2002).
        await conn.execute(
            insert(t.orders).values(
                orderno=req.orderno, status=OrderState.BLOCKED, reversed_at=clock.now()
            )
        )
        return _ok(RefundAnswer(req.orderno, OrderStatus.NOTFOUND))
    if order.status == OrderState.BLOCKED:
        return _ok(RefundAnswer(req.orderno, OrderStatus.NOTFOUND))
    if order.amount != req.amount:
        return Outcome(
            Code.AMOUNT_MISMATCH, f"order {req.orderno} wrote off {order.amount}, not {req.amount}"
        )
    if order.status == OrderState.WRITTEN_OFF:
        await _undo_write_off(conn, t, clock, req.orderno)
    return _ok(RefundAnswer(req.orderno, OrderStatus.REVERSED, order.billerserial, order.amount))


async def _undo_write_off(conn: AsyncConnection, t: SimTables, clock: Clock, orderno: str) -> None:
    # Bill locks in bill-number order, as a charge takes them.
    await conn.execute(
        select(t.bills.c.bill_no)
        .where(t.bills.c.paid_by == orderno)
        .order_by(t.bills.c.bill_no)
        .with_for_update()
    )
    await conn.execute(update(t.bills).where(t.bills.c.paid_by == orderno).values(paid_by=None))
    await conn.execute(
        update(t.orders)
        .where(t.orders.c.orderno == orderno)
        .values(status=OrderState.REVERSED, reversed_at=clock.now())
    )
