"""The daily expiry (the worker's ``vouchers`` task, ``utilipay vouchers expire``).

A voucher whose batch's last day has passed (Asia/Shanghai) becomes EXPIRED. An unsold one
had no value: the audit log records how many. A sold one was never redeemed: its face value
is breakage, which the utility keeps (the liability goes to its payable, one
``VOUCHER_BREAKAGE`` entry per utility and run), as the utility sold it and carries the
obligation under its own terms of sale. Invalid-PIN records past the brake's window go too.
Safe to repeat: an expired voucher is not expired again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.clock import Clock, business_date
from utilipay.vouchers.redeem import WINDOW

_EXPIRE = text(
    """
    WITH expired AS (
        UPDATE vouchers v SET state = 'EXPIRED', state_at = :now,
               reason = CASE WHEN v.state = 'ACTIVE' THEN 'breakage' ELSE 'unsold' END
          FROM voucher_batches b
         WHERE b.id = v.batch_id AND b.expires_on < :today AND v.state IN ('ISSUED', 'ACTIVE')
        RETURNING v.biller_id, v.batch_id, v.reason, b.face)
    SELECT biller_id, batch_id, count(*) FILTER (WHERE reason = 'unsold') AS unsold,
           count(*) FILTER (WHERE reason = 'breakage') AS sold,
           coalesce(sum(face) FILTER (WHERE reason = 'breakage'), 0)::bigint AS breakage
      FROM expired GROUP BY biller_id, batch_id ORDER BY biller_id, batch_id
    """
)
_BREAKAGE = text("SELECT ledger_post_voucher_breakage(:biller, :at, :amount, :memo)")
_FORGET = text("DELETE FROM voucher_failures WHERE at <= :before")


@dataclass(frozen=True, slots=True)
class Expired:
    vouchers: int
    breakage: int  # fen, sold vouchers' face value the utilities keep


async def expire(conn: AsyncConnection, clock: Clock, *, actor: str) -> Expired:
    now = clock.now()
    rows = (await conn.execute(_EXPIRE, {"now": now, "today": business_date(now)})).all()
    per_biller: dict[int, tuple[int, list[int]]] = {}
    for row in rows:
        total, batch_ids = per_biller.get(row.biller_id, (0, []))
        per_biller[row.biller_id] = (total + row.breakage, [*batch_ids, row.batch_id])
        await audit.record(
            conn, clock, actor=actor, action="vouchers.expire", object_type="voucher_batch",
            object_id=str(row.batch_id),
            details={"unsold": row.unsold, "sold": row.sold, "breakage": row.breakage},
        )  # fmt: skip
    for biller_id, (amount, batch_ids) in per_biller.items():
        if amount:
            memo = "breakage of batches " + ", ".join(map(str, batch_ids))
            await conn.execute(
                _BREAKAGE, {"biller": biller_id, "at": now, "amount": amount, "memo": memo}
            )
    await conn.execute(_FORGET, {"before": now - WINDOW})
    return Expired(sum(r.unsold + r.sold for r in rows), sum(r.breakage for r in rows))
