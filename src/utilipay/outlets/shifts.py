"""Shift close (日结轧账, channel-api.md §11): what an operator collected since their last
close, the cash they should hold against the cash they counted, the difference recorded.

A shift is the operator's terminal payments and voids since their last close (their first
shift: since they were added), up to now:

- ``count``/``amount``: their payments received in the shift and written off (SUCCEEDED,
  or voided since: the cash was taken either way; payments still PROCESSING or FAILED took
  none). Payments are read through ``payments_orders`` (outlets sit below payments).
- ``voids``: the voids they completed in the shift (a void still pending at a remote
  utility counts in the shift it completes in).
- ``cash_expected``: cash payments of the shift minus cash voids of the shift: a void
  hands the cash back to the customer from the drawer, whichever shift took it.
- ``difference`` = counted − expected (short < 0, over > 0), recorded and audited.

Closing twice in a row gives an empty shift. One close at a time per operator (the
operator's row is locked), so two closes cannot count the same payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import RowMapping, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.clock import Clock, day_bounds
from utilipay.errors import DomainError, ErrorCode
from utilipay.outlets.tables import outlet_operators, outlet_shifts


@dataclass(frozen=True, slots=True)
class Shift:
    shift_id: int
    outlet_id: int
    operator: str
    opened_at: datetime
    closed_at: datetime
    count: int
    amount: int
    cash_expected: int
    cash_counted: int
    difference: int
    voids: int


_OPENED = text(
    """
    SELECT coalesce(max(closed_at), :since) FROM outlet_shifts
     WHERE outlet_id = :outlet_id AND operator_code = :operator
    """
)
_TOTALS = text(
    """
    WITH taken AS (
        SELECT op.tender, op.amount FROM outlet_payments op
          JOIN payments_orders p ON p.biller_id = op.biller_id AND p.id = op.payment_id
         WHERE op.outlet_id = :outlet_id AND op.operator_code = :operator
           AND op.received_at > :opened AND op.received_at <= :closed
           AND p.status IN ('SUCCEEDED', 'VOID_PENDING', 'VOIDED')),
    voided AS (
        SELECT tender, amount FROM outlet_voids
         WHERE outlet_id = :outlet_id AND operator_code = :operator AND status = 'VOIDED'
           AND finished_at > :opened AND finished_at <= :closed)
    SELECT (SELECT count(*) FROM taken)::integer AS count,
           (SELECT coalesce(sum(amount), 0) FROM taken)::bigint AS amount,
           (SELECT count(*) FROM voided)::integer AS voids,
           ((SELECT coalesce(sum(amount) FILTER (WHERE tender = 'cash'), 0) FROM taken)
          - (SELECT coalesce(sum(amount) FILTER (WHERE tender = 'cash'), 0) FROM voided))::bigint
           AS cash_expected
    """
)


async def close_shift(
    conn: AsyncConnection, clock: Clock, *, outlet_id: int, operator_code: str, counted_cash: int
) -> Shift:
    """Close the operator's shift (see the module's docstring), in the caller's transaction."""
    if isinstance(counted_cash, bool) or not isinstance(counted_cash, int) or counted_cash < 0:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "counted_cash is whole fen, 0 or more")
    operator = (
        await conn.execute(
            select(outlet_operators)
            .where(outlet_operators.c.outlet_id == outlet_id,
                   outlet_operators.c.code == operator_code)
            .with_for_update()
        )
    ).first()  # fmt: skip
    if operator is None or operator.status != "ACTIVE":
        raise DomainError(ErrorCode.FORBIDDEN, f"{operator_code!r} is no active operator here")
    key = {"outlet_id": outlet_id, "operator": operator_code}
    opened = await conn.scalar(_OPENED, {**key, "since": operator.created_at})
    closed = max(clock.now(), opened)
    totals = (await conn.execute(_TOTALS, {**key, "opened": opened, "closed": closed})).one()
    values = {
        "outlet_id": outlet_id, "operator_code": operator_code, "opened_at": opened,
        "closed_at": closed, "count": totals.count, "amount": totals.amount,
        "cash_expected": totals.cash_expected, "cash_counted": counted_cash,
        "difference": counted_cash - totals.cash_expected, "voids": totals.voids,
    }  # fmt: skip
    shift = (
        await conn.execute(insert(outlet_shifts).values(values).returning(outlet_shifts))
    ).one()
    await audit.record(
        conn, clock, actor=f"outlet:{outlet_id}/{operator_code}", action="outlet.shift_close",
        object_type="outlet_shift", object_id=str(shift.id),
        details={k: v for k, v in values.items() if not isinstance(v, datetime)},
    )  # fmt: skip
    return _shift(shift._mapping)


def _shift(m: RowMapping) -> Shift:
    return Shift(
        m["id"], m["outlet_id"], m["operator_code"], m["opened_at"], m["closed_at"],
        m["count"], m["amount"], m["cash_expected"], m["cash_counted"], m["difference"],
        m["voids"],
    )  # fmt: skip


async def shifts_with_differences(
    conn: AsyncConnection, *, outlet_id: int | None = None, since: date | None = None
) -> list[Shift]:
    """Closed shifts whose counted cash was not what was expected, newest first (of one
    outlet, and closed on or after a business day, if given): for the report and console."""
    s = outlet_shifts.c
    query = select(outlet_shifts).where(s.difference != 0)
    if outlet_id is not None:
        query = query.where(s.outlet_id == outlet_id)
    if since is not None:
        query = query.where(s.closed_at >= day_bounds(since)[0])
    rows = await conn.execute(query.order_by(s.closed_at.desc(), s.id.desc()))
    return [_shift(r._mapping) for r in rows]
