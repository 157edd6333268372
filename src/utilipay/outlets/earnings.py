"""What outlets earn: the payments they took for each utility, read by the settlement to
pay their commission, and the float credit that pays it (channel-api.md §11)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Integer, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock
from utilipay.outlets import floats


@dataclass(frozen=True, slots=True)
class OutletSale:
    """``count`` payments of one amount an outlet took for a utility, written off."""

    biller_id: int
    outlet_id: int
    outlet_kind: str
    float_account: int
    amount: int
    count: int


# Written off in the window: the moment the utility is owed the money, as the settlement's
# own sales (settlement/repository.py); a voided payment is no longer SUCCEEDED.
_SALES = text(
    """
    SELECT p.biller_id, o.id AS outlet_id, o.kind, o.float_account, p.amount, count(*) AS n
      FROM outlet_payments op
      JOIN payments_orders p ON p.biller_id = op.biller_id AND p.id = op.payment_id
      JOIN outlets o ON o.id = op.outlet_id
     WHERE op.biller_id = ANY (:ids) AND p.status IN ('SUCCEEDED', 'VOID_PENDING')
       AND p.finished_at >= :start AND p.finished_at < :end
     GROUP BY p.biller_id, o.id, o.kind, o.float_account, p.amount
    """
).bindparams(bindparam("ids", type_=ARRAY(Integer)))

_CREDIT = text(
    """
    UPDATE outlet_floats f SET balance = f.balance + c.amount
      FROM unnest(:outlets, :amounts) AS c (outlet_id, amount)
     WHERE f.outlet_id = c.outlet_id
    """
).bindparams(
    bindparam("outlets", type_=ARRAY(Integer)), bindparam("amounts", type_=ARRAY(BigInteger))
)


async def sales(
    conn: AsyncConnection, biller_ids: list[int], start: datetime, end: datetime
) -> list[OutletSale]:
    rows = await conn.execute(_SALES, {"ids": biller_ids, "start": start, "end": end})
    return [
        OutletSale(r.biller_id, r.outlet_id, r.kind, r.float_account, r.amount, r.n) for r in rows
    ]


async def credit_floats(conn: AsyncConnection, clock: Clock, credits: Mapping[int, int]) -> None:
    """Add to each outlet's float (``outlet_id -> fen``) what the ledger credited it with
    in the same transaction (the settlement's commission); a low float may be low no more."""
    paid = {outlet: amount for outlet, amount in credits.items() if amount}
    if paid:
        await conn.execute(_CREDIT, {"outlets": list(paid), "amounts": list(paid.values())})
    for outlet_id in sorted(paid):
        await floats.after_change(conn, outlet_id, clock)
