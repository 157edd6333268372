from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billing import csvfile
from utilipay.billing import service as billing_service
from utilipay.billing.schemas import ImportReport
from utilipay.clock import Clock

HEADER = "biller,account,holder,bill_no,period,amount,late_fee,due_date\n"
ACCOUNT = "0112345678"


async def import_bills(engine: AsyncEngine, clock: Clock, *lines: str) -> ImportReport:
    rows = csvfile.parse_bills((HEADER + "\n".join(lines) + "\n").encode())
    async with engine.begin() as conn:
        return await billing_service.import_bills(conn, clock, rows)


def bill_line(
    bill_no: str,
    account: str = ACCOUNT,
    amount: int = 12345,
    late_fee: int = 0,
    *,
    holder: str = "张三",
    period: str = "2026-10",
    due: str = "2026-11-30",
) -> str:
    return f"BJWATER,{account},{holder},{bill_no},{period},{amount},{late_fee},{due}"


def payment_body(order_id: str = "WX20261122000123", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": order_id,
        "biller": "BJWATER",
        "account": ACCOUNT,
        "amount": 12345,
        "bill_nos": ["B202610-0001"],
        "payer": "wx-openid-abc",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


async def counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows in the tables a payment writes, to prove a refusal wrote nothing."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM payments) AS payments,"
                    " (SELECT count(*) FROM journal_entries) AS entries,"
                    " (SELECT count(*) FROM postings) AS postings,"
                    " (SELECT count(*) FROM outbox_events"
                    "   WHERE event_type LIKE 'payment.%') AS events,"
                    " (SELECT count(*) FROM bills WHERE status = 'PAID') AS paid_bills,"
                    " (SELECT count(*) FROM bindings) AS bindings"
                )
            )
        ).one()
    return dict(row._mapping)


async def audited_actors(engine: AsyncEngine, action: str) -> list[str]:
    """Who the audit log says did ``action``, oldest first."""
    async with engine.connect() as conn:
        query = text("SELECT actor FROM audit_log WHERE action = :a ORDER BY id")
        return [r.actor for r in await conn.execute(query, {"a": action})]
