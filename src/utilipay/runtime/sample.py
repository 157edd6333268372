"""Sample partners and bills for a sandbox: what ``utilipay serve --demo`` seeds and the demo
walks through (documented in the README)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers_repo
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.billing import csvfile
from utilipay.billing import service as billing_service
from utilipay.channels import repository as channels_repo
from utilipay.channels import service as channels_service
from utilipay.clock import Clock

CHANNEL = "WECHAT"
CHANNEL_SECRET = "demo-wechat-secret-change-me"  # noqa: S105 (public demo data, in the README)
BILLER = "BJWATER"
ACCOUNT = "0112345678"  # 张三, two bills due
OTHER_ACCOUNT = "2598765432"  # 李四, one bill due
PAYER = "wx-openid-demo-zhangsan"

BILLS_CSV = f"""biller,account,holder,bill_no,period,amount,late_fee,due_date
{BILLER},{ACCOUNT},张三,B202610-0001,2026-10,12345,0,2026-11-30
{BILLER},{ACCOUNT},张三,B202609-0001,2026-09,8000,40,2026-10-31
{BILLER},{OTHER_ACCOUNT},李四,B202610-0002,2026-10,5000,0,2026-11-30
"""


async def seed(conn: AsyncConnection, clock: Clock) -> None:
    """Create the demo partners and bills; running it again changes nothing."""
    if await channels_repo.by_code(conn, CHANNEL) is None:
        await channels_service.add_channel(
            conn, clock, code=CHANNEL, name="微信支付 (demo)", secret=CHANNEL_SECRET, actor="demo"
        )
    if await billers_repo.by_code(conn, BILLER) is None:
        await billers_service.add_biller(
            conn,
            clock,
            code=BILLER,
            name="北京自来水集团 (demo)",
            category=Category.WATER,
            mode=IntegrationMode.HOSTED,
            account_rule=r"(0[1-9]|25)\d{8}",
            account_hint="10 digits, starts with 01-09 or 25",
            region="110000",
            actor="demo",
        )
    rows = csvfile.parse_bills(BILLS_CSV.encode(), source="demo bills")
    await billing_service.import_bills(conn, clock, rows, source="demo bills")
