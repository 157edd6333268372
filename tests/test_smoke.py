from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import bill_line, import_bills
from utilipay.client import ChannelClient
from utilipay.clock import FrozenClock


async def test_pay_a_bill(engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient) -> None:
    await import_bills(engine, clock, bill_line("B1"))
    r = await wechat.call("GET", "/v1/bills", params={"biller": "BJWATER", "account": "0112345678"})
    print(r.json())
    assert r.status_code == 200
    r = await wechat.call(
        "POST",
        "/v1/payments",
        json={
            "order_id": "WX1",
            "biller": "BJWATER",
            "account": "0112345678",
            "amount": 12345,
            "payer": "p1",
        },
    )
    print(r.json())
    assert r.status_code == 201
