"""A voucher pays a hosted bill with its late fee computed on the redemption's business date
(``vouchers_bills_covered`` through ``bill_late_fee_of``), as the payment check does."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import bill_line, import_bills
from tests.vouchers.conftest import Batch, scalar
from tests.vouchers.test_redeem import redeem
from utilipay.billing import latefee_service
from utilipay.billing.latefees import LateFeeRule
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient


async def test_the_face_value_pays_the_bill_with_its_late_fee_of_the_day(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, sold: Batch
) -> None:
    # on 2026-11-22: due 10-31, 22 days overdue, 17 charged after 5 of grace: 3000 × 1.7 %
    await import_bills(engine, clock, bill_line("B1", amount=3000, late_fee=10, due="2026-10-31"))
    rule = LateFeeRule(date(2026, 1, 1), None, Decimal(1), grace_days=5)
    async with engine.begin() as conn:
        await latefee_service.add_rule(conn, clock, "BJWATER", rule, actor="t", reason="")
    answer = await redeem(wechat, "V1", sold.pin(0))
    assert answer.status_code == 201, answer.text
    applied = answer.json()["applied"]
    assert applied["bills"] == [{"bill_no": "B1", "amount": 3000 + 51 + 10}]
    assert applied["credit"] == 10000 - 3061
    assert await scalar(engine, "SELECT status FROM bills WHERE bill_no = 'B1'") == "PAID"
