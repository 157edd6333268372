"""Per-outlet figures for a period (issue 12 item 7, the reports' raw material): payments
and voids by outlet, region, operator or day, with the commission the utilities paid, the
deposits, and for outlets the float's turnover.

A payment counts on the Asia/Shanghai day it was written off (``finished_at``), as in the
settlement. ``payments`` are those still SUCCEEDED, ``voids`` those voided since. The
commission is what settlements credited for the period's days (by outlet and day; an
operator's share of it is not kept, so it is absent by operator). The turnover is what the
float paid in the period over the mean of its opening and closing balances: how many times
the float was spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import day_bounds


class Grouping(StrEnum):
    OUTLET = "outlet"
    REGION = "region"
    OPERATOR = "operator"
    DAY = "day"


# The grouping's key, as SQL over the aliases below (a fixed set, never user text).
_KEYS = {
    Grouping.OUTLET: ("c.code || '/' || o.code",),
    Grouping.REGION: ("o.region",),
    Grouping.OPERATOR: ("c.code || '/' || o.code", "coalesce(t.operator_code, '')"),
    Grouping.DAY: ("t.day::text",),
}

_TAKEN = """
    SELECT op.outlet_id, op.operator_code, p.status, p.amount,
           (p.finished_at AT TIME ZONE 'Asia/Shanghai')::date AS day
      FROM outlet_payments op
      JOIN payments_orders p ON p.biller_id = op.biller_id AND p.id = op.payment_id
     WHERE p.status IN ('SUCCEEDED', 'VOIDED')
       AND p.finished_at >= :start AND p.finished_at < :end
"""
_PAID = """
    SELECT outlet_id, NULL::text AS operator_code, business_date AS day, sum(commission) AS n
      FROM settlement_outlet_commissions
     WHERE business_date >= :first AND business_date <= :last
     GROUP BY outlet_id, business_date
"""
_DEPOSITED = """
    SELECT outlet_id, NULL::text AS operator_code,
           (recorded_at AT TIME ZONE 'Asia/Shanghai')::date AS day, sum(amount) AS n
      FROM float_deposits WHERE recorded_at >= :start AND recorded_at < :end
     GROUP BY outlet_id, 3
"""
_BALANCE = """
    SELECT coalesce(-sum(m.amount), 0) FROM ledger_movements m
     WHERE m.account_id = o.float_account AND m.created_at < {bound}
"""


def _query(by: Grouping) -> str:
    keys = _KEYS[by]
    key_list = ", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))
    group = ", ".join(keys)
    turnover = (
        f"({_BALANCE.format(bound=':start')}) AS opening,"
        f" ({_BALANCE.format(bound=':end')}) AS closing"
        if by is Grouping.OUTLET
        else "NULL::bigint AS opening, NULL::bigint AS closing"
    )
    commission = "NULL::bigint" if by is Grouping.OPERATOR else "sum(t.commission)"
    return f"""
    WITH t AS (
        SELECT outlet_id, operator_code, day,
               count(*) FILTER (WHERE status = 'SUCCEEDED') AS payments,
               coalesce(sum(amount) FILTER (WHERE status = 'SUCCEEDED'), 0) AS amount,
               count(*) FILTER (WHERE status = 'VOIDED') AS voids,
               coalesce(sum(amount) FILTER (WHERE status = 'VOIDED'), 0) AS voided,
               0 AS commission, 0 AS deposits
          FROM ({_TAKEN}) x GROUP BY outlet_id, operator_code, day
        UNION ALL
        SELECT outlet_id, operator_code, day, 0, 0, 0, 0, n, 0 FROM ({_PAID}) y
        UNION ALL
        SELECT outlet_id, operator_code, day, 0, 0, 0, 0, 0, n FROM ({_DEPOSITED}) z)
    SELECT {key_list}, sum(t.payments) AS payments, sum(t.amount) AS amount,
           sum(t.voids) AS voids, sum(t.voided) AS voided, {commission} AS commission,
           sum(t.deposits) AS deposits, {turnover}
      FROM t JOIN outlets o ON o.id = t.outlet_id JOIN channels_directory c ON c.id = o.channel_id
     WHERE CAST(:channel AS text) IS NULL OR c.code = :channel
     GROUP BY {group}{", o.float_account" if by is Grouping.OUTLET else ""}
     ORDER BY {group}
    """  # noqa: S608 - the constants above and a Grouping's keys, never input


_QUERIES = {by: text(_query(by)) for by in Grouping}


@dataclass(frozen=True, slots=True)
class Figures:
    key: tuple[str, ...]
    payments: int
    amount: int
    voids: int
    voided: int
    commission: int | None
    deposits: int
    turnover: Decimal | None

    def as_json(self, by: Grouping) -> dict[str, object]:
        names = ("outlet", "operator") if by is Grouping.OPERATOR else (by.value,)
        return {
            **dict(zip(names, self.key, strict=True)),
            "payments": self.payments,
            "amount": self.amount,
            "voids": self.voids,
            "voided": self.voided,
            "commission": self.commission,
            "deposits": self.deposits,
            "turnover": str(self.turnover) if self.turnover is not None else None,
        }


def turnover(paid: int, opening: int | None, closing: int | None) -> Decimal | None:
    """What the float paid over its mean balance, to two decimals; none for an empty float."""
    if opening is None or closing is None or opening + closing <= 0:
        return None
    mean = Decimal(opening + closing) / 2
    return (Decimal(paid) / mean).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def figures(
    conn: AsyncConnection, *, first: date, last: date, by: Grouping, channel: str | None = None
) -> list[Figures]:
    """The figures of the days ``first`` … ``last`` (inclusive), grouped ``by``."""
    start, _ = day_bounds(first)
    _, end = day_bounds(last)
    params = {"start": start, "end": end, "first": first, "last": last, "channel": channel}
    rows = await conn.execute(_QUERIES[by], params)
    width = len(_KEYS[by])
    return [
        Figures(
            tuple(r[i] for i in range(width)), int(r.payments), int(r.amount), int(r.voids),
            int(r.voided), None if r.commission is None else int(r.commission),
            int(r.deposits), turnover(int(r.amount), r.opening, r.closing),
        )
        for r in rows
    ]  # fmt: skip
