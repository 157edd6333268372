from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billing import csvfile
from utilipay.billing import service as billing_service
from utilipay.billing.schemas import ImportReport
from utilipay.clock import Clock

HEADER = "biller,account,holder,bill_no,period,amount,late_fee,due_date\n"


async def import_bills(engine: AsyncEngine, clock: Clock, *lines: str) -> ImportReport:
    rows = csvfile.parse_bills((HEADER + "\n".join(lines) + "\n").encode())
    async with engine.begin() as conn:
        return await billing_service.import_bills(conn, clock, rows)


def bill_line(
    bill_no: str,
    account: str = "0112345678",
    amount: int = 12345,
    late_fee: int = 0,
    holder: str = "张三",
    period: str = "2026-10",
    due: str = "2026-11-30",
) -> str:
    return f"BJWATER,{account},{holder},{bill_no},{period},{amount},{late_fee},{due}"
