"""The void and shift-close routes act for a terminal: unsigned calls get 401, a channel's
own signature 403 (it is not a terminal's)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import bill_line, import_bills, payment_body
from tests.outlets.conftest import Shop
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/payments/P123/void", {"operator": "OP1", "reason": "wrong bill"}),
    ("/v1/outlet/shifts/close", {"operator": "OP1", "counted_cash": 100}),
])  # fmt: skip
async def test_unsigned_and_channel_signed_calls_are_refused(
    http: httpx.AsyncClient, wechat: ChannelClient, path: str, body: dict[str, object]
) -> None:
    unsigned = await http.post(path, json=body)
    assert unsigned.status_code == 401
    assert unsigned.json()["code"] == "UNAUTHENTICATED"
    by_channel = await wechat.call("POST", path, json=body)
    assert by_channel.status_code == 403
    assert by_channel.json()["code"] == "FORBIDDEN"


async def test_a_terminal_voids_over_http_and_the_receipt_says_so(
    shop: Shop, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001", amount=12345))
    await shop.operator("OP1")
    await shop.deposit(20000)
    clock.set(clock.now() + timedelta(minutes=1))  # the shift opened when OP1 was added
    client = shop.client()
    paid = await client.call("POST", "/v1/payments", json=payment_body(operator="OP1"))
    assert paid.status_code == 201, paid.text
    payment_id = paid.json()["id"]
    voided = await client.call("POST", f"/v1/payments/{payment_id}/void",
                               json={"operator": "OP1", "reason": "wrong bill"})  # fmt: skip
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "VOIDED"
    assert await shop.float() == (20000, 0)
    receipt = await client.call("GET", f"/v1/payments/{payment_id}/receipt",
                                params={"format": "text"})  # fmt: skip
    assert receipt.status_code == 200, receipt.text
    assert receipt.text.count("已冲正") == 2  # marked at the top and the bottom
    clock.set(clock.now() + timedelta(minutes=1))
    closed = await client.call("POST", "/v1/outlet/shifts/close",
                               json={"operator": "OP1", "counted_cash": 0})  # fmt: skip
    assert closed.status_code == 200, closed.text
    assert {k: closed.json()[k] for k in ("count", "cash_expected", "difference", "voids")} == {
        "count": 1,
        "cash_expected": 0,
        "difference": 0,
        "voids": 1,
    }
