"""An order's page as the payment stands: waiting (polled), FAILED (the money goes back,
polling stops), and what "pay" fixes when it sends the payer to the cashier."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import REMOTE_ACCOUNT
from tests.h5.conftest import PAYER, open_session
from tests.h5.test_security import CASHIER, bind, csrf
from tests.helpers import ACCOUNT, bill_line, import_bills
from tests.utility import CODE, Utility
from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient


async def sent_to_cashier(http: httpx.AsyncClient, binding_id: str) -> dict[str, str]:
    sent = await http.post(f"/h5/accounts/{binding_id}/pay", data={"csrf_token": await csrf(http)})
    assert sent.status_code == 303, sent.text
    return {k: v[0] for k, v in parse_qs(urlsplit(sent.headers["location"]).query).items()}


async def test_an_order_waits_then_shows_a_failure_and_the_refund(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, utility: Utility,
    wechat: ChannelClient,
) -> None:  # fmt: skip
    async with engine.begin() as conn:
        await channels_service.update_channel(conn, clock, "WECHAT", cashier_url=CASHIER, actor="t")
    await open_session(http, clock)
    bound = await bind(http, CODE, REMOTE_ACCOUNT)
    asked = await sent_to_cashier(http, bound.headers["location"].rsplit("/", 1)[1])
    assert (asked["amount"], asked["bill_nos"], asked["payer"]) == ("4250", "RB-1", PAYER)
    order = f"/h5/orders/{asked['order_id']}"
    waiting = await http.get(order)
    assert "等待支付" in waiting.text and 'hx-trigger="every 2s"' in waiting.text
    # the utility refuses the write-off for good (the channel sent it without the late fee)
    body = {"order_id": asked["order_id"], "biller": CODE, "account": REMOTE_ACCOUNT,
            "amount": 4200, "bill_nos": ["RB-1"], "payer": PAYER}  # fmt: skip
    failed = (await wechat.call("POST", "/v1/payments", json=body)).json()
    assert (failed["status"], failed["failure_code"]) == ("FAILED", "AMOUNT_MISMATCH")
    shown = await http.get(f"{order}/status")
    assert "缴费未成功" in shown.text and "原路退回" in shown.text
    assert "hx-trigger" not in shown.text  # final: the page stops asking


async def test_a_utility_that_does_not_answer_is_said_so_and_nothing_is_ordered(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, utility: Utility
) -> None:
    async with engine.begin() as conn:
        await channels_service.update_channel(conn, clock, "WECHAT", cashier_url=CASHIER, actor="t")
    await open_session(http, clock)
    binding_id = (await bind(http, CODE, REMOTE_ACCOUNT)).headers["location"].rsplit("/", 1)[1]
    utility.fail_with("error=1")
    mine = await http.get("/h5/")
    assert mine.status_code == 200 and "缴费单位暂时无法查询" in mine.text
    token = await csrf(http)
    refused = await http.post(f"/h5/accounts/{binding_id}/pay", data={"csrf_token": token})
    assert refused.status_code == 503 and "location" not in refused.headers
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM payer_orders")) == 0


async def test_a_payment_other_than_the_order_is_not_shown_as_its_own(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, wechat: ChannelClient
) -> None:
    """The channel paid one of the order's two bills: the page says what was paid, and that
    it is not what the order asked, rather than "paid" for the order."""
    await import_bills(
        engine, clock, bill_line("B202610-0001"), bill_line("B202611-0001", period="2026-11")
    )
    async with engine.begin() as conn:
        await channels_service.update_channel(conn, clock, "WECHAT", cashier_url=CASHIER, actor="t")
    await open_session(http, clock)
    bound = await bind(http, "BJWATER", ACCOUNT)
    asked = await sent_to_cashier(http, bound.headers["location"].rsplit("/", 1)[1])
    assert asked["bill_nos"] == "B202610-0001,B202611-0001"
    body = {"order_id": asked["order_id"], "biller": "BJWATER", "account": ACCOUNT,
            "amount": 12345, "bill_nos": ["B202610-0001"], "payer": PAYER}  # fmt: skip
    paid = (await wechat.call("POST", "/v1/payments", json=body)).json()
    assert paid["status"] == "SUCCEEDED"
    shown = await http.get(f"/h5/orders/{asked['order_id']}")
    assert "App 的支付与本订单不符" in shown.text and "B202610-0001 支付了 ¥123.45" in shown.text
    asked_again = await sent_to_cashier(http, bound.headers["location"].rsplit("/", 1)[1])
    body = {**body, "order_id": asked_again["order_id"], "bill_nos": ["B202611-0001"]}
    assert (await wechat.call("POST", "/v1/payments", json=body)).json()["status"] == "SUCCEEDED"
    as_asked = await http.get(f"/h5/orders/{asked_again['order_id']}")
    assert "缴费成功" in as_asked.text and "不符" not in as_asked.text
