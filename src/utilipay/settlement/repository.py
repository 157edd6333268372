"""Settlement's SQL: a day's figures per biller, the stored settlements, the ledger."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypedDict

from sqlalchemy import Integer, Table, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers_repo
from utilipay.channels import repository as channels_repo
from utilipay.settlement.fees import FeeRule
from utilipay.settlement.tables import (
    biller_fee_rules,
    outlet_commission_rules,
    payouts,
    settlement_accounts,
    settlement_branch_days,
    settlement_commissions,
    settlement_lines,
    settlements,
)

_IDS = bindparam("ids", type_=ARRAY(Integer))


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    code: str
    name: str
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class PayTo:
    account_no: str
    account_name: str
    bank: str
    mode: str  # a group's: 'branches' or 'group'


@dataclass(frozen=True, slots=True)
class Sale:
    """``count`` succeeded payments of one amount, by one channel, for one purpose."""

    biller_id: int
    channel_id: int
    purpose: str
    amount: int
    count: int


async def members(conn: AsyncConnection) -> list[Member]:
    return [Member(b.id, b.code, b.name, b.parent_id) for b in await billers_repo.all_billers(conn)]


async def channel_codes(conn: AsyncConnection) -> dict[int, str]:
    return {c.id: c.code for c in await channels_repo.all_channels(conn)}


async def pay_to(conn: AsyncConnection) -> dict[int, PayTo]:
    rows = await conn.execute(select(settlement_accounts))
    return {r.biller_id: PayTo(r.account_no, r.account_name, r.bank, r.mode) for r in rows}


async def fee_rules(conn: AsyncConnection, table: Table) -> dict[int, list[FeeRule]]:
    owner = table.c.biller_id if table is biller_fee_rules else table.c.channel_id
    found: dict[int, list[FeeRule]] = defaultdict(list)
    for r in await conn.execute(select(table, owner.label("owner"))):
        found[r.owner].append(FeeRule(r.effective_from, r.rate_bp, r.minimum, r.maximum, r.fixed))
    return found


async def commission_rules(conn: AsyncConnection) -> dict[tuple[int, str], list[FeeRule]]:
    """Each utility's commission rules by outlet kind: ``(biller_id, kind) -> rules``."""
    found: dict[tuple[int, str], list[FeeRule]] = defaultdict(list)
    for r in await conn.execute(select(outlet_commission_rules)):
        rule = FeeRule(r.effective_from, r.rate_bp, r.minimum, r.maximum, r.fixed)
        found[(r.biller_id, r.outlet_kind)].append(rule)
    return found


# A void still pending at a remote utility leaves the write-off standing until it answers:
# owed, as the ledger's payable says; a VOIDED payment is not (its day's void is the same
# business day, before any settlement of it).
_SALES = text(
    """
    SELECT biller_id, channel_id, purpose, amount, count(*) AS n FROM payments_orders
     WHERE biller_id = ANY (:ids) AND status IN ('SUCCEEDED', 'VOID_PENDING')
       AND purpose <> 'voucher'  -- a voucher's money moves by the ledger (_VOUCHERS)
       AND finished_at >= :start AND finished_at < :end
     GROUP BY biller_id, channel_id, purpose, amount
    """
).bindparams(_IDS)
_REVERSED = text(
    """
    SELECT biller_id, sum(amount) AS amount, count(*) AS n FROM payments_orders
     WHERE biller_id = ANY (:ids) AND reversed_at >= :start AND reversed_at < :end
     GROUP BY biller_id
    """
).bindparams(_IDS)
# The accrual entries posted in the day credit each biller's payable on line 1; the
# check ``accruals_are_booked`` proves that line carries the entry's accruals.
_ACCRUED = text(
    """
    SELECT m.biller_id, -sum(m.amount) AS amount
      FROM ledger_movements m
      JOIN ledger_chart a ON a.id = m.account_id AND a.kind = 'BILLER_PAYABLE'
     WHERE m.biller_id = ANY (:ids) AND m.kind = 'PREPAID_ACCRUAL'
       AND m.created_at >= :start AND m.created_at < :end
     GROUP BY m.biller_id
    """
).bindparams(_IDS)
# Contract 2 (``refunds``, migration 0014): a refund lowers its day's net when the
# utility was owed its payment (SUCCEEDED). A refund of a payment the hub failed gives
# back money the utility never had: the hub's to return, not the utility's.
_REFUNDS = text(
    """
    SELECT r.biller_id, r.channel_id, sum(r.amount) AS amount
      FROM recon_refunds r
      JOIN payments_orders p ON p.biller_id = r.biller_id AND p.id = r.payment_id
                     AND p.status = 'SUCCEEDED'
     WHERE r.biller_id = ANY (:ids) AND r.business_date = :day
     GROUP BY r.biller_id, r.channel_id
    """
).bindparams(_IDS)


async def sales(
    conn: AsyncConnection, ids: list[int], start: datetime, end: datetime
) -> list[Sale]:
    rows = await conn.execute(_SALES, {"ids": ids, "start": start, "end": end})
    return [Sale(r.biller_id, r.channel_id, r.purpose, r.amount, r.n) for r in rows]


async def reversed_payments(
    conn: AsyncConnection, ids: list[int], start: datetime, end: datetime
) -> dict[int, tuple[int, int]]:
    rows = await conn.execute(_REVERSED, {"ids": ids, "start": start, "end": end})
    return {r.biller_id: (int(r.amount), r.n) for r in rows}


# What vouchers moved on each biller's payable in the day (ledger/flows.py): bills their
# redemptions and credits wrote off and the breakage of expired ones are owed to the
# utility; vouchers it sold itself lower what it is owed (it holds their cash).
_VOUCHERS = text(
    """
    SELECT m.biller_id, -sum(m.amount) AS amount
      FROM ledger_movements m
      JOIN ledger_chart a ON a.id = m.account_id AND a.kind = 'BILLER_PAYABLE'
     WHERE m.biller_id = ANY (:ids)
       AND m.kind IN ('VOUCHER_SALE', 'VOUCHER_REDEMPTION', 'VOUCHER_CREDIT_USE',
                      'VOUCHER_BREAKAGE')
       AND m.created_at >= :start AND m.created_at < :end
     GROUP BY m.biller_id
    """
).bindparams(_IDS)


async def vouchers(
    conn: AsyncConnection, ids: list[int], start: datetime, end: datetime
) -> dict[int, int]:
    rows = await conn.execute(_VOUCHERS, {"ids": ids, "start": start, "end": end})
    return {r.biller_id: int(r.amount) for r in rows}


async def accrued(
    conn: AsyncConnection, ids: list[int], start: datetime, end: datetime
) -> dict[int, int]:
    rows = await conn.execute(_ACCRUED, {"ids": ids, "start": start, "end": end})
    return {r.biller_id: int(r.amount) for r in rows}


async def refunds(conn: AsyncConnection, ids: list[int], day: date) -> dict[int, dict[int, int]]:
    found: dict[int, dict[int, int]] = defaultdict(dict)
    for r in await conn.execute(_REFUNDS, {"ids": ids, "day": day}):
        found[r.biller_id][r.channel_id] = int(r.amount)
    return found


async def stored(conn: AsyncConnection, payee_id: int, day: date) -> dict[str, Any] | None:
    """A settlement as written, its lines keyed by branch, and its payout."""
    key = {"biller_id": payee_id, "business_date": day}
    head = (await conn.execute(select(settlements).filter_by(**key))).one_or_none()
    if head is None:
        return None
    lines = await conn.execute(select(settlement_lines).filter_by(**key))
    payout = (await conn.execute(select(payouts).filter_by(**key))).one_or_none()
    return {
        **head._asdict(),
        "lines": {r.branch_id: r._asdict() for r in lines},
        "payout": payout._asdict() if payout else None,
    }


async def stored_days(conn: AsyncConnection, day: date) -> list[int]:
    """The payees settled for ``day``."""
    query = select(settlements.c.biller_id).where(settlements.c.business_date == day)
    return [r[0] for r in await conn.execute(query.order_by(settlements.c.biller_id))]


async def settled_to(conn: AsyncConnection, day: date, branch_ids: list[int]) -> dict[int, int]:
    """The payee each of these branches' ``day`` was already settled to."""
    days = settlement_branch_days.c
    rows = await conn.execute(
        select(days.biller_id, days.payee_id).where(
            days.business_date == day, days.biller_id.in_(branch_ids)
        )
    )
    return {r.biller_id: r.payee_id for r in rows}


async def write(conn: AsyncConnection, head: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    """The settlement and its lines; each branch's day is taken once, whoever the payee."""
    await conn.execute(insert(settlements).values(**head))
    await conn.execute(insert(settlement_lines), lines)
    taken = [
        {
            "biller_id": x["branch_id"],
            "business_date": x["business_date"],
            "payee_id": x["biller_id"],
        }
        for x in lines
    ]
    await conn.execute(insert(settlement_branch_days), taken)


class Commission(TypedDict):
    """A row of ``settlement_commissions``: what an outlet earned in a payee's day."""

    biller_id: int
    business_date: date
    outlet_id: int
    payments: int
    amount: int
    commission: int


async def write_commissions(conn: AsyncConnection, rows: list[Commission]) -> None:
    if rows:
        await conn.execute(insert(settlement_commissions), rows)


async def write_payout(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(payouts).values(status="PENDING", **values))


async def lock(conn: AsyncConnection) -> None:
    """Settlement runs one at a time: ledger accounts are opened and days written once."""
    await conn.execute(select(func.pg_advisory_xact_lock(0x5E771E)))


@dataclass(frozen=True, slots=True)
class LastSettlement:
    business_date: date
    payments: int
    gross: int
    net: int
    created_at: datetime


_LAST_SETTLEMENTS = text(
    """
    SELECT b.id AS biller_id, s.business_date, s.payments, s.gross, s.net, s.created_at
      FROM unnest(CAST(:ids AS integer[])) AS b (id)
     CROSS JOIN LATERAL (
           SELECT business_date, payments, gross, net, created_at FROM settlements
            WHERE biller_id = b.id ORDER BY business_date DESC LIMIT 1) s
    """
)


async def last_settlements(
    conn: AsyncConnection, biller_ids: list[int]
) -> dict[int, LastSettlement]:
    """Each utility's latest settled day, by its id (one never settled is absent)."""
    rows = await conn.execute(_LAST_SETTLEMENTS, {"ids": biller_ids})
    return {
        r.biller_id: LastSettlement(r.business_date, r.payments, r.gross, r.net, r.created_at)
        for r in rows
    }
