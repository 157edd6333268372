"""Bill claims: a remote biller's bill in a live hub payment cannot be in a second one.

The hub does not hold a remote biller's bills, so it cannot lock them as it
locks hosted ones; a claim row per bill, unique while live, plays that part.
A failed payment releases its claims; a succeeded one keeps them (the bill is
paid).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.claims.tables import bill_claims
from utilipay.errors import DomainError, ErrorCode

_CLAIM = text(
    """
    INSERT INTO bill_claims (biller_id, bill_no, payment_id, claimed_at)
    SELECT :biller_id, bill_no, :payment_id, :at FROM unnest(CAST(:bill_nos AS text[])) bill_no
    ON CONFLICT (biller_id, bill_no) WHERE released_at IS NULL DO NOTHING
    RETURNING bill_no
    """
)


async def claimed_bill_nos(
    conn: AsyncConnection, biller_id: int, bill_nos: Sequence[str]
) -> set[str]:
    if not bill_nos:
        return set()
    rows = await conn.execute(
        select(bill_claims.c.bill_no).where(
            bill_claims.c.biller_id == biller_id,
            bill_claims.c.bill_no.in_(list(bill_nos)),
            bill_claims.c.released_at.is_(None),
        )
    )
    return set(rows.scalars())


async def claim(
    conn: AsyncConnection, biller_id: int, bill_nos: Sequence[str], payment_id: str, at: datetime
) -> None:
    """Claim every bill for the payment, or raise BILL_ALREADY_PAID (the caller rolls back)."""
    rows = await conn.execute(
        _CLAIM,
        {"biller_id": biller_id, "payment_id": payment_id, "at": at, "bill_nos": list(bill_nos)},
    )
    taken = set(bill_nos) - set(rows.scalars())
    if taken:
        raise DomainError(
            ErrorCode.BILL_ALREADY_PAID,
            f"bill {min(taken)} is paid, or being paid, by another order",
        )


async def release(conn: AsyncConnection, biller_id: int, payment_id: str, at: datetime) -> None:
    await conn.execute(
        update(bill_claims)
        .where(
            bill_claims.c.biller_id == biller_id,
            bill_claims.c.payment_id == payment_id,
            bill_claims.c.released_at.is_(None),
        )
        .values(released_at=at)
    )
