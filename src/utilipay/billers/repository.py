from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.connection import RemoteConnection
from utilipay.billers.rules import AccountRule
from utilipay.billers.schemas import (
    Biller,
    BillerStatus,
    BillingTerms,
    Category,
    IntegrationMode,
    Verification,
)
from utilipay.billers.tables import biller_connections, billers
from utilipay.ledger.accounts import chart

_CONNECTION = [c.label(f"conn_{c.name}") for c in biller_connections.c if c.name != "biller_id"]
_SELECT = (
    select(billers, chart.c.id.label("payable_account_id"), *_CONNECTION)
    .join(
        chart,
        and_(
            chart.c.biller_id == billers.c.id,
            chart.c.kind == "BILLER_PAYABLE",
        ),
    )
    .outerjoin(biller_connections, biller_connections.c.biller_id == billers.c.id)
)


def _from_row(row: object) -> Biller:
    m = row._mapping  # type: ignore[attr-defined]
    return Biller(
        id=m["id"],
        code=m["code"],
        name=m["name"],
        category=Category(m["category"]),
        region=m["region"],
        parent_id=m["parent_id"],
        rule=AccountRule.parse(m["account_rule"], m["account_hint"]),
        mode=IntegrationMode(m["mode"]),
        status=BillerStatus(m["status"]),
        min_payment=m["min_payment"],
        max_payment=m["max_payment"],
        payable_account_id=m["payable_account_id"],
        remote=_connection(m),
        mandate_default_cap=m["mandate_default_cap"],
        mandate_max_cap=m["mandate_max_cap"],
        mandate_poll_s=m["mandate_poll_s"],
        debit_notice_s=m["debit_notice_s"],
        prepaid_reminder=m["prepaid_reminder"],
        prepaid_cut_grace_s=m["prepaid_cut_grace_s"],
        prepaid_reward_min=m["prepaid_reward_min"],
        prepaid_reward_points=m["prepaid_reward_points"],
        verification=Verification(m["verification"]),
    )


def _connection(m: Any) -> RemoteConnection | None:
    if m["conn_base_url"] is None:
        return None
    return RemoteConnection.from_row({k[5:]: v for k, v in m.items() if k.startswith("conn_")})


async def by_code(conn: AsyncConnection, code: str) -> Biller | None:
    row = (await conn.execute(_SELECT.where(billers.c.code == code))).first()
    return _from_row(row) if row else None


async def by_id(conn: AsyncConnection, biller_id: int) -> Biller | None:
    row = (await conn.execute(_SELECT.where(billers.c.id == biller_id))).first()
    return _from_row(row) if row else None


async def all_billers(conn: AsyncConnection) -> list[Biller]:
    return [_from_row(r) for r in await conn.execute(_SELECT.order_by(billers.c.code))]


async def insert_biller(
    conn: AsyncConnection,
    *,
    code: str,
    name: str,
    category: Category,
    region: str,
    parent_id: int | None,
    rule: AccountRule,
    mode: IntegrationMode,
    created_at: datetime,
) -> int:
    result = await conn.execute(
        insert(billers)
        .values(
            code=code,
            name=name,
            category=category,
            region=region,
            parent_id=parent_id,
            account_rule=rule.pattern,
            account_hint=rule.hint,
            mode=mode,
            status=BillerStatus.ACTIVE,
            created_at=created_at,
        )
        .returning(billers.c.id)
    )
    return int(result.scalar_one())


async def insert_connection(conn: AsyncConnection, biller_id: int, **values: Any) -> None:
    await conn.execute(insert(biller_connections).values(biller_id=biller_id, **values))


async def update_connection(conn: AsyncConnection, biller_id: int, **values: Any) -> None:
    await conn.execute(
        update(biller_connections)
        .where(biller_connections.c.biller_id == biller_id)
        .values(**values)
    )


async def billing_terms(
    conn: AsyncConnection, biller_id: int, *, lock: bool = False
) -> BillingTerms:
    """What the hub's bill run needs of a biller; ``lock`` holds the biller until the
    transaction ends (a change of the due days)."""
    query = select(billers.c.bill_due_days, billers.c.currency).where(billers.c.id == biller_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).one()
    return BillingTerms(row.bill_due_days, row.currency)


async def update_biller(conn: AsyncConnection, biller_id: int, **values: Any) -> None:
    await conn.execute(update(billers).where(billers.c.id == biller_id).values(**values))


_GROUP = text(
    """
    WITH RECURSIVE grp(id) AS (
        SELECT id FROM billers WHERE id = :biller_id
        UNION SELECT b.id FROM billers b JOIN grp ON b.parent_id = grp.id
    )
    SELECT id FROM grp
    """
)


async def group_of(conn: AsyncConnection, biller_id: int) -> frozenset[int]:
    """A utility and its branches, at any depth: what its own staff may see."""
    return frozenset((await conn.execute(_GROUP, {"biller_id": biller_id})).scalars())
