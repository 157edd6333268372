"""The outlet's side of a void (channel-api.md §11): which outlet took a payment, whether
an operator may void it, the record of who voided it and why, and the float given back.

``payments.voids`` decides and calls these inside its own transactions; nothing here
knows a payment's status (outlets sit below payments and read none of its tables).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from utilipay.outlets.tables import outlet_operators, outlet_payments, outlet_voids


@dataclass(frozen=True, slots=True)
class TerminalPayment:
    """A payment as the outlet that took it recorded it."""

    biller_id: int
    payment_id: str
    outlet_id: int
    operator_code: str | None
    tender: str
    amount: int
    float_state: str  # HELD | TAKEN | RELEASED | RETURNED


async def terminal_payment(
    conn: AsyncConnection, biller_id: int, payment_id: str
) -> TerminalPayment | None:
    """The outlet's record of a payment; None for a channel's (not a terminal's) payment."""
    o = outlet_payments.c
    row = (
        await conn.execute(
            select(o.biller_id, o.payment_id, o.outlet_id, o.operator_code, o.tender, o.amount,
                   o.float_state)
            .where(o.biller_id == biller_id, o.payment_id == payment_id)
        )
    ).first()  # fmt: skip
    return None if row is None else TerminalPayment(**row._mapping)


async def is_active_operator(conn: AsyncConnection, outlet_id: int, code: str) -> bool:
    found = await conn.scalar(
        select(outlet_operators.c.status).where(
            outlet_operators.c.outlet_id == outlet_id, outlet_operators.c.code == code
        )
    )
    return found == "ACTIVE"


async def record_void(
    conn: AsyncConnection, taken: TerminalPayment, operator_code: str, reason: str, at: datetime
) -> None:
    """Who asked to void the payment, why and when: PENDING until it is done or refused."""
    await conn.execute(
        insert(outlet_voids).values(
            biller_id=taken.biller_id, payment_id=taken.payment_id, requested_at=at,
            outlet_id=taken.outlet_id, operator_code=operator_code, reason=reason,
            tender=taken.tender, amount=taken.amount, status="PENDING",
        )
    )  # fmt: skip


def _standing(biller_id: int, payment_id: str) -> ColumnElement[bool]:
    v = outlet_voids.c
    return and_(v.biller_id == biller_id, v.payment_id == payment_id, v.status == "PENDING")


# The float given back with one update (never read-then-write), and its ledger account for
# the void's entry. Only a payment whose amount was TAKEN is given back, once.
_GIVE_BACK = text(
    """
    WITH returned AS (
        UPDATE outlet_payments SET float_state = 'RETURNED'
         WHERE biller_id = :biller_id AND payment_id = :payment_id AND float_state = 'TAKEN'
        RETURNING outlet_id, amount
    ), given AS (
        UPDATE outlet_floats f SET balance = f.balance + r.amount
          FROM returned r WHERE f.outlet_id = r.outlet_id
        RETURNING f.outlet_id
    )
    SELECT o.float_account FROM given JOIN outlets o ON o.id = given.outlet_id
    """
)


async def give_back(conn: AsyncConnection, biller_id: int, payment_id: str, at: datetime) -> int:
    """The void done at the outlet: recorded VOIDED, the amount back in the float; the
    float's ledger account. Raises if the payment's amount was not taken from a float."""
    account = await conn.scalar(_GIVE_BACK, {"biller_id": biller_id, "payment_id": payment_id})
    if account is None:
        raise RuntimeError(f"payment {payment_id}: no float to give its amount back to")
    await conn.execute(
        update(outlet_voids)
        .where(_standing(biller_id, payment_id))
        .values(status="VOIDED", finished_at=at)
    )
    return int(account)


async def refuse_void(
    conn: AsyncConnection, biller_id: int, payment_id: str, at: datetime, refusal: str
) -> None:
    """The utility refused to undo the write-off: the void is over, the payment stands."""
    await conn.execute(
        update(outlet_voids)
        .where(_standing(biller_id, payment_id))
        .values(status="REFUSED", finished_at=at, refusal=refusal[:500])
    )
