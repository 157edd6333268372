"""Due-date reminders: once per unpaid bill and number of days, on the Shanghai calendar."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import ACCOUNT, bill_line, import_bills, payment_body
from tests.notify.test_notify_support import NOWHERE, dispatch, point_at, queued
from utilipay.clock import FrozenClock
from utilipay.notify.reminders import remind_due_bills
from utilipay_tools.client import ChannelClient

OTHER = "2598765432"


async def _reminders(engine: AsyncEngine) -> list[tuple[str, dict[str, Any]]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT aggregate_id, payload FROM outbox_events"
                " WHERE event_type = 'bill.due_soon' ORDER BY id"
            )
        )
        return [(r.aggregate_id, r.payload) for r in rows]


async def _bills(engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient) -> None:
    await import_bills(
        engine,
        clock,
        bill_line("B202610-0001", due="2026-11-25", late_fee=40),
        bill_line("B202610-0002", due="2026-11-25", amount=5000),  # paid below
        bill_line("B202610-0003", due="2026-11-26"),
        bill_line("B202610-0004", OTHER, holder="李四", due="2026-11-25", amount=5000),
    )
    paid = await wechat.call(
        "POST", "/v1/payments", json=payment_body(amount=5000, bill_nos=["B202610-0002"])
    )
    assert paid.status_code == 201


async def test_each_unpaid_bill_due_in_n_days_is_announced_once(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, world: dict[str, object]
) -> None:
    await _bills(engine, clock, wechat)
    assert await remind_due_bills(engine, clock, 3) == 2  # today is 2026-11-22 in Shanghai
    assert await remind_due_bills(engine, clock, 3) == 0
    reminded = await _reminders(engine)
    assert [bill for bill, _ in reminded] == ["B202610-0001", "B202610-0004"]
    assert reminded[0][1] == {
        "biller": "BJWATER",
        "account_no": ACCOUNT,
        "bill_no": "B202610-0001",
        "amount": 12345,
        "late_fee": 40,
        "due_date": "2026-11-25",
        "days_left": 3,
    }
    assert await remind_due_bills(engine, clock, 4) == 1  # another number: another reminder
    clock.advance(timedelta(days=1))
    assert await remind_due_bills(engine, clock, 3) == 1  # B202610-0003 again, 3 days before
    assert await remind_due_bills(engine, clock, 2) == 2
    assert len(await _reminders(engine)) == 6


async def test_the_day_is_the_shanghai_business_date(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient
) -> None:
    await _bills(engine, clock, wechat)
    clock.set(datetime(2026, 11, 22, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai
    assert await remind_due_bills(engine, clock, 4) == 1
    clock.set(datetime(2026, 11, 22, 16, 0, tzinfo=UTC))  # already the 23rd in Shanghai
    assert await remind_due_bills(engine, clock, 2) == 2
    assert [b for b, _ in await _reminders(engine)] == [
        "B202610-0003",
        "B202610-0001",
        "B202610-0004",
    ]


async def test_concurrent_passes_announce_each_bill_once(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient
) -> None:
    await _bills(engine, clock, wechat)
    counts = await asyncio.gather(*(remind_due_bills(engine, clock, 3) for _ in range(4)))
    assert sum(counts) == 2
    assert len(await _reminders(engine)) == 2


async def test_a_suspended_biller_s_bills_are_not_reminded(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient
) -> None:
    await _bills(engine, clock, wechat)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE billers SET status = 'SUSPENDED'"))
    assert await remind_due_bills(engine, clock, 3) == 0


async def test_a_reminder_reaches_the_bound_payer(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await _bills(engine, clock, wechat)
    bind = {"payer": "wx-openid-abc", "biller": "BJWATER", "account": ACCOUNT}
    assert (await wechat.call("POST", "/v1/bindings", json=bind)).status_code == 201
    await dispatch(engine, clock, hub)
    assert await remind_due_bills(engine, clock, 3) == 2
    assert await dispatch(engine, clock, hub) == 2
    soon = [n for n in await queued(engine) if n.template == "bill.due_soon"]
    ((n),) = soon  # the other account has nobody bound
    assert n.params["days_left"] == 3 and n.params["biller_name"] == "北京自来水"
    assert "还有3天" in n.text["zh-CN"] and "123.85元" in n.text["zh-CN"]


async def test_days_before_cannot_be_negative(engine: AsyncEngine, clock: FrozenClock) -> None:
    with pytest.raises(ValueError, match="negative"):
        await remind_due_bills(engine, clock, -1)
