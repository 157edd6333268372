"""The amount due of a hosted bill is its amount plus its late fee computed on the payment's
business date (``bill_late_fee``): the payment check, the bill query and the receipt agree,
and a payment of the amount the bills file said is refused once the fee runs."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import ACCOUNT, bill_line, counts, import_bills, payment_body
from utilipay.billing import latefee_service
from utilipay.billing.latefees import LateFeeRule
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient

BILL = "B202610-0001"
# The clock says 2026-11-22 15:30 in Shanghai. Due 11-01 with 5 days of grace at 1‰ a day:
# 21 days overdue, 16 charged: 10000 × 1‰ × 16 = 160 fen, plus 30 imported.
DUE_NOW = 10000 + 160 + 30


@pytest.fixture
async def overdue(engine: AsyncEngine, clock: FrozenClock, world: Any) -> None:
    await import_bills(engine, clock, bill_line(BILL, amount=10000, late_fee=30, due="2026-11-01"))
    rule = LateFeeRule(date(2026, 1, 1), None, Decimal(1), grace_days=5)
    async with engine.begin() as conn:
        await latefee_service.add_rule(conn, clock, "BJWATER", rule, actor="t", reason="")


async def pay(client: ChannelClient, amount: int, *, bills: bool = True) -> Any:
    body = payment_body(amount=amount, bill_nos=[BILL] if bills else ...)
    return await client.call("POST", "/v1/payments", json=body)


async def test_the_amount_of_the_file_is_refused_after_the_grace_and_the_computed_one_paid(
    wechat: ChannelClient, engine: AsyncEngine, overdue: None
) -> None:
    old = await pay(wechat, 10030)
    assert (old.status_code, old.json()["code"]) == (422, "AMOUNT_MISMATCH")
    assert old.json()["detail"] == f"bills total {DUE_NOW}, got 10030"
    assert (await counts(engine))["payments"] == 0
    assert (await pay(wechat, DUE_NOW - 1)).status_code == 422
    made = await pay(wechat, DUE_NOW)
    assert made.status_code == 201, made.text
    receipt = await wechat.call("GET", f"/v1/payments/{made.json()['id']}/receipt")
    assert "￥101.90" in receipt.text  # the bill's line: amount and the fee it was paid with


async def test_within_the_grace_the_amount_of_the_file_is_due(
    wechat: ChannelClient, clock: FrozenClock, overdue: None
) -> None:
    clock.set(clock.now() - timedelta(days=16))  # 11-06: 5 days overdue, all of them grace
    assert (await pay(wechat, DUE_NOW)).status_code == 422
    assert (await pay(wechat, 10030)).status_code == 201


async def test_the_bill_query_shows_the_fee_the_payment_check_wants(
    wechat: ChannelClient, overdue: None
) -> None:
    query = {"biller": "BJWATER", "account": ACCOUNT}
    found = (await wechat.call("GET", "/v1/bills", params=query)).json()
    assert [(b["amount"], b["late_fee"]) for b in found["bills"]] == [(10000, 190)]
    assert found["total"] == DUE_NOW
    assert (await pay(wechat, found["total"], bills=False)).status_code == 201  # all due


async def test_a_waiver_lowers_what_the_payment_check_wants(
    wechat: ChannelClient, engine: AsyncEngine, clock: FrozenClock, overdue: None
) -> None:
    async with engine.begin() as conn:
        await latefee_service.waive(conn, clock, "BJWATER", BILL, 100, actor="li", reason="x")
    assert (await pay(wechat, DUE_NOW)).status_code == 422
    assert (await pay(wechat, DUE_NOW - 100)).status_code == 201
