"""No double payment under concurrency, proven with concurrent connections to PostgreSQL.

To make the race certain rather than likely, a third connection holds the bill's
row lock while the requests arrive; once every request is waiting on it, the
lock is released and they all go at once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import raw_connect
from tests.helpers import bill_line, import_bills, payment_body, until_waiting_on_locks
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient


@pytest.fixture
async def bills(engine: AsyncEngine, clock: FrozenClock, world: Any) -> None:
    await import_bills(
        engine, clock, bill_line("B202610-0001"), bill_line("B202609-0001", amount=500)
    )


async def race(
    raw_dsn: Any, requests: list[tuple[ChannelClient, httpx.Request]], waiters: int
) -> list[httpx.Response]:
    """Send ``requests`` while a bill lock is held; release it once ``waiters`` queue on it."""
    blocker = await raw_connect(raw_dsn)
    watcher = await raw_connect(raw_dsn)
    try:
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("SELECT * FROM bills FOR UPDATE")
        tasks = [asyncio.create_task(client.send(req)) for client, req in requests]
        await until_waiting_on_locks(watcher, waiters)  # on the bill lock
        await tx.rollback()
        return await asyncio.gather(*tasks)
    finally:
        await blocker.close()
        await watcher.close()


async def payments_in_db(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text("SELECT id, order_id, bill_nos FROM payments")))


async def test_two_payments_for_one_bill_exactly_one_succeeds(
    wechat: ChannelClient, alipay: ChannelClient, bills: None, engine: AsyncEngine, raw_dsn: Any
) -> None:
    requests = [
        (wechat, wechat.build("POST", "/v1/payments", json=payment_body("WX-A"))),
        (alipay, alipay.build("POST", "/v1/payments", json=payment_body("ALI-B"))),
    ]
    responses = await race(raw_dsn, requests, waiters=2)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["code"] == "BILL_ALREADY_PAID"
    assert len(await payments_in_db(engine)) == 1


async def test_many_channels_racing_for_one_bill(
    wechat: ChannelClient, alipay: ChannelClient, bills: None, engine: AsyncEngine, raw_dsn: Any
) -> None:
    requests = [
        (client, client.build("POST", "/v1/payments", json=payment_body(f"ORDER-{i}")))
        for i in range(8)
        for client in (wechat, alipay)
    ]
    responses = await race(raw_dsn, requests, waiters=8)  # the pool has 10 connections
    outcome = Counter(
        (r.status_code, r.json().get("code") or r.json()["status"]) for r in responses
    )
    assert outcome == {(201, "SUCCEEDED"): 1, (409, "BILL_ALREADY_PAID"): 15}
    assert len(await payments_in_db(engine)) == 1


@pytest.mark.parametrize("bill_nos", [["B202610-0001"], ...], ids=["listed bills", "all due"])
async def test_the_same_order_sent_concurrently_makes_one_payment(
    wechat: ChannelClient, bills: None, engine: AsyncEngine, raw_dsn: Any, bill_nos: Any
) -> None:
    amount = 12345 if bill_nos is not ... else 12845
    body = payment_body("WX-TWIN", bill_nos=bill_nos, amount=amount)
    requests = [(wechat, wechat.build("POST", "/v1/payments", json=body)) for _ in range(6)]
    responses = await race(raw_dsn, requests, waiters=6)
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["receipt_no"] for r in responses}) == 1
    assert len(await payments_in_db(engine)) == 1


async def test_one_order_id_for_two_different_bills_concurrently(
    wechat: ChannelClient, bills: None, engine: AsyncEngine
) -> None:
    """No shared bill lock here: the order id's unique index decides, the loser conflicts."""
    first = wechat.build("POST", "/v1/payments", json=payment_body("WX-SAME"))
    second = wechat.build(
        "POST",
        "/v1/payments",
        json=payment_body("WX-SAME", bill_nos=["B202609-0001"], amount=500),
    )
    responses = await asyncio.gather(wechat.send(first), wechat.send(second))
    assert sorted(r.status_code for r in responses) == [201, 409]
    assert next(r for r in responses if r.status_code == 409).json()["code"] == (
        "IDEMPOTENCY_CONFLICT"
    )
    assert len(await payments_in_db(engine)) == 1


async def test_one_order_id_for_two_billers_concurrently_makes_one_payment(
    wechat: ChannelClient, bills: None, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    """The order id is the channel's across billers, though payments are keyed by biller:
    payment_orders holds the rule (migration 0022)."""
    async with engine.begin() as conn:
        await billers_service.add_biller(
            conn, clock, code="SZWATER", name="深圳水务", category=Category.WATER,
            mode=IntegrationMode.HOSTED, account_rule=r"[0-9]{10}", actor="test",
        )  # fmt: skip
    await hub.directory.reload()
    await import_bills(engine, clock, "SZWATER,0100000001,李四,SZ-B1,2026-10,20000,0,2026-11-30")
    there = payment_body(
        "WX-BOTH", biller="SZWATER", account="0100000001", amount=20000, bill_nos=["SZ-B1"]
    )
    bodies = (payment_body("WX-BOTH"), there)
    responses = await asyncio.gather(*(wechat.call("POST", "/v1/payments", json=b) for b in bodies))
    assert sorted(r.status_code for r in responses) == [201, 409]
    assert next(r for r in responses if r.status_code == 409).json()["code"] == (
        "IDEMPOTENCY_CONFLICT"
    )
    assert len(await payments_in_db(engine)) == 1


async def test_concurrent_bindings_of_one_account_make_one_binding(
    wechat: ChannelClient, bills: None, engine: AsyncEngine
) -> None:
    body = {"payer": "wx-openid-abc", "biller": "BJWATER", "account": "0112345678"}
    responses = await asyncio.gather(
        *(wechat.call("POST", "/v1/bindings", json=body) for _ in range(8))
    )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
