"""The channel mix and the prepaid report on real payments: a utility's counter and an
agent's shop paying at their terminals, a POS channel, a voucher redeemed through the
channel API, a terminal payment voided (counted again, negatively, on the day of its
void); a prepaid account enrolled, topped up, warned and cut."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.collection.test_reports import DAY, report, table
from tests.conftest import channel
from tests.helpers import bill_line, import_bills, payment_body
from tests.outlets.conftest import Shop
from tests.vouchers.conftest import Batch, sold  # noqa: F401 (a fixture)
from tests.vouchers.test_redeem import redeem
from utilipay.channels import service as channels_service
from utilipay.channels.schemas import ChannelKind
from utilipay.clock import FrozenClock
from utilipay.collection import days
from utilipay.collection.schemas import ReportName
from utilipay.web.hub import Hub
from utilipay_tools.client import ChannelClient

POS_SECRET = "pos-secret-0123456789abcdef0123456789"


async def mix(engine: AsyncEngine, clock: FrozenClock, first: date, last: date) -> dict[str, Any]:
    found = await report(engine, clock, ReportName.CHANNEL_MIX, first, last)
    return {r["class"]: (r["count"], r["amount"]) for r in table(found)}


async def pos_channel(engine: AsyncEngine, clock: FrozenClock, hub: Hub,
                      http: httpx.AsyncClient) -> ChannelClient:  # fmt: skip
    async with engine.begin() as conn:
        await channels_service.add_channel(conn, clock, code="UNIONPOS", secret=POS_SECRET,
                                           kind=ChannelKind.POS, actor="test")  # fmt: skip
    await hub.directory.reload()
    return ChannelClient(http, "UNIONPOS", POS_SECRET, clock)


async def test_counter_agent_pos_and_voucher_and_a_void_the_next_day(
    engine: AsyncEngine,
    clock: FrozenClock,
    world: dict[str, object],
    hub: Hub,
    http: httpx.AsyncClient,
    wechat: ChannelClient,
    sold: Batch,  # noqa: F811
) -> None:
    accounts = {"C": "0200000001", "S": "0200000002", "P": "0200000003"}
    await import_bills(
        engine, clock, bill_line("V1", amount=10_000),
        *(bill_line(f"{k}1", a, 1_000 * (n + 1)) for n, (k, a) in enumerate(accounts.items())),
    )  # fmt: skip
    agent = channel(world, "wechat")  # a wallet that runs outlets too
    counter = await Shop(engine, clock, http, hub.directory, agent).open(kind="counter",
                                                                         code="CTR1")  # fmt: skip
    shop = await Shop(engine, clock, http, hub.directory, agent).open(code="SHOP1")
    for outlet in (counter, shop):
        await outlet.deposit(50_000)
        await outlet.operator("OP1")
    clock.advance(timedelta(minutes=1))  # the shifts opened when the operators were added
    for outlet, key, amount in ((counter, "C", 1_000), (shop, "S", 2_000)):
        body = payment_body(f"T{key}", account=accounts[key], bill_nos=[f"{key}1"],
                            amount=amount, operator="OP1")  # fmt: skip
        paid = await outlet.client().call("POST", "/v1/payments", json=body)
        assert paid.status_code == 201, paid.text
    shop_payment = paid.json()["id"]
    pos = await pos_channel(engine, clock, hub, http)
    body = payment_body("P1", account=accounts["P"], bill_nos=["P1"], amount=3_000)
    assert (await pos.call("POST", "/v1/payments", json=body)).status_code == 201
    assert (await redeem(wechat, "VO1", sold.pin(0))).status_code == 201

    on_the_day = await mix(engine, clock, DAY, DAY)
    assert {k: v for k, v in on_the_day.items() if v[0]} == {
        "Counter": (1, 1_000), "Agent outlet": (1, 2_000), "POS": (1, 3_000),
        "Voucher": (1, 10_000),
    }  # fmt: skip

    clock.advance(timedelta(hours=1))  # a terminal voids on the day it took the payment only
    voided = await shop.client().call("POST", f"/v1/payments/{shop_payment}/void",
                                      json={"operator": "OP1", "reason": "wrong bill"})  # fmt: skip
    assert voided.status_code == 200, voided.text
    after = await mix(engine, clock, DAY, DAY)
    assert after == {**on_the_day, "Agent outlet": (0, 0)}  # counted, then counted off
    clock.advance(timedelta(days=1))
    await days.close(engine, clock)
    assert await mix(engine, clock, DAY, DAY) == after  # as the closed day keeps it
