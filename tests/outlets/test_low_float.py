"""The low-float message to an outlet's owner (channel-api.md §11, issue 12): one per
episode whatever the worker retries, the episode ended by a deposit, a new one later."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import bill_line, import_bills, payment_body
from tests.notify.test_notify_support import dispatch, queued, undispatch
from tests.outlets.conftest import Shop
from tests.vouchers.conftest import issue
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.notify.schemas import Notification
from utilipay.vouchers import service as vouchers
from utilipay.vouchers.service import Selection

THRESHOLD = 10000
BILL = 3000


@pytest.fixture
async def low_shop(shop: Shop, engine: AsyncEngine, clock: FrozenClock, world: Any) -> Shop:
    """SHOP1 warns below 100 yuan; six households owe 30 yuan each."""
    await import_bills(
        engine,
        clock,
        *(bill_line(f"B-{n}", account=f"010000000{n}", amount=BILL) for n in range(1, 7)),
    )
    await shop.run("UPDATE outlets SET low_threshold = :t WHERE id = :id",
                   t=THRESHOLD, id=shop.outlet_id)  # fmt: skip
    return shop


async def pay_bill(shop: Shop, n: int) -> None:
    body = payment_body(f"SHOP-{n}", account=f"010000000{n}", amount=BILL, bill_nos=[f"B-{n}"])
    r = await shop.client().call("POST", "/v1/payments", json=body)
    assert r.status_code == 201, r.text
    shop.clock.advance(timedelta(minutes=1))


async def low_since(engine: AsyncEngine, outlet_id: int) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(
            text("SELECT low_since FROM outlets WHERE id = :id"), {"id": outlet_id}
        )


def owner_messages(found: list[Notification]) -> list[tuple[str, str]]:
    return [(n.recipient_kind, n.address) for n in found if n.template == "outlet.float_low"]


OWNER = [("email", "owner@example.com"), ("sms", "13800000000")]


async def test_one_message_per_episode_and_a_deposit_ends_it(
    low_shop: Shop, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await low_shop.deposit(5 * BILL)  # 150 yuan
    await pay_bill(low_shop, 1)  # 120 left: not low
    await dispatch(engine, clock, hub)
    assert owner_messages(await queued(engine)) == []
    started = clock.now()
    await pay_bill(low_shop, 2)  # 90 left: the episode starts
    await pay_bill(low_shop, 3)  # 60 left: the same episode
    assert await low_since(engine, low_shop.outlet_id) == started
    await dispatch(engine, clock, hub)
    await undispatch(engine)  # a worker that died before marking them dispatched
    await dispatch(engine, clock, hub)
    found = await queued(engine)
    assert owner_messages(found) == OWNER
    sms = next(n for n in found if n.recipient_kind == "sms")
    assert sms.language == "zh-CN" and sms.account_no == "SHOP1"
    assert "村口小卖部" in sms.text["zh-CN"] and "90.00元" in sms.text["zh-CN"]
    assert "100.00元" in sms.text["zh-CN"]

    await low_shop.deposit(5000)  # 110 yuan free: back above the threshold
    assert await low_since(engine, low_shop.outlet_id) is None
    await pay_bill(low_shop, 4)  # 80 left: a new episode, a new message
    await dispatch(engine, clock, hub)
    assert owner_messages(await queued(engine)) == sorted(OWNER + OWNER)


async def test_a_deposit_too_small_keeps_the_episode(
    low_shop: Shop, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await low_shop.deposit(4 * BILL)
    await pay_bill(low_shop, 1)  # 90 left
    started = await low_since(engine, low_shop.outlet_id)
    assert started is not None
    await low_shop.deposit(500)  # 95: still below
    assert await low_since(engine, low_shop.outlet_id) == started
    await pay_bill(low_shop, 2)
    await dispatch(engine, clock, hub)
    assert owner_messages(await queued(engine)) == OWNER


async def test_an_episode_over_before_the_worker_came_tells_nobody(
    low_shop: Shop, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await low_shop.deposit(4 * BILL)
    await pay_bill(low_shop, 1)  # low
    await low_shop.deposit(10000)  # and over, before any dispatch
    await dispatch(engine, clock, hub)
    assert owner_messages(await queued(engine)) == []


async def sell_vouchers(shop: Shop, first: str, last: str) -> None:
    async with shop.engine.begin() as conn:
        await vouchers.activate(conn, shop.clock, Selection(first=first, last=last),
                                outlet=("WECHAT", "SHOP1"), actor="t")  # fmt: skip


async def test_vouchers_sold_at_the_outlet_take_the_float_under_the_same_rules(
    low_shop: Shop, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await low_shop.deposit(15000)
    batch = await issue(engine, clock, 3, 3000)
    first, second, third = batch.pins
    await sell_vouchers(low_shop, first, second)  # 90 yuan left: low, as for a payment
    assert await low_shop.float() == (9000, 0)
    assert await low_since(engine, low_shop.outlet_id) is not None
    await dispatch(engine, clock, hub)
    assert owner_messages(await queued(engine)) == OWNER
    async with engine.connect() as conn:
        biller = await conn.scalar(
            text("SELECT biller_id FROM outbox_events WHERE event_type = 'outlet.float_low'")
        )
        water = await conn.scalar(text("SELECT id FROM billers WHERE code = 'BJWATER'"))
    assert biller == water
    await low_shop.run("UPDATE outlet_floats SET held = 7000 WHERE outlet_id = :id",
                       id=low_shop.outlet_id)  # fmt: skip
    with pytest.raises(DomainError) as refused:  # the free float, not the balance, pays
        await sell_vouchers(low_shop, third, third)
    assert refused.value.code is ErrorCode.FLOAT_INSUFFICIENT
    assert await low_shop.float() == (9000, 7000)
