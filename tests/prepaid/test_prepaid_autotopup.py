"""Automatic top-up (自动充值): a low prepaid balance is topped up from the payer's mandate,
once per episode, through the hub-initiated debit of channel-api.md §9."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.autopay.test_autopay import (
    attempts,
    bind,
    books_balance,
    debits,
    events,
    run_until,
    sh,
    sign,
)
from tests.helpers import ACCOUNT, bill_line, import_bills
from tests.prepaid.test_prepaid_topup import account, open_account, top_up
from utilipay.autopay.topups import schedule_topups
from utilipay.clock import FrozenClock
from utilipay.prepaid.accrual import accrue_day
from utilipay_tools.channelsim.outcomes import OutcomePlan
from utilipay_tools.client import ChannelClient


async def water_use(engine: AsyncEngine, clock: FrozenClock, day: date, m3: str) -> None:
    """A day's water settled on BJ_WATER_RES: 5 yuan a m³ in the first annual band."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO daily_usage (biller_id, account_no, day, register, quantity,"
                " estimated) SELECT id, :a, :d, 'total', :q, false FROM billers"
                " WHERE code = 'BJWATER'"
            ),
            {"a": ACCOUNT, "d": day, "q": Decimal(m3)},
        )
        await accrue_day(conn, day, clock.now())


async def prepaid_water(engine: AsyncEngine, clock: FrozenClock) -> None:
    await open_account(engine, clock)  # on BJ_WATER_RES, at zero: in arrears from the start


async def test_a_low_balance_is_topped_up_once_per_episode(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await prepaid_water(engine, clock)
    mandate = await sign(wechat, topup_amount=5000)
    assert mandate["topup_amount"] == 5000
    await run_until(autopay, clock, sh("2026-11-23 12:00"))
    (first,) = await debits(engine)
    assert (first.purpose, first.status, first.amount, list(first.bill_nos)) == (
        "prepaid_topup", "SUCCEEDED", 5000, []
    )  # fmt: skip
    assert ((await account(engine)).balance, (await account(engine)).state) == (5000, "NORMAL")
    async with engine.connect() as conn:
        paid = (await conn.execute(text("SELECT * FROM payments"))).one()
    assert (paid.purpose, paid.order_id, paid.status) == ("prepaid_topup", first.id, "SUCCEEDED")
    kinds = [e.event_type for e in await events(engine, "debit.")]
    assert kinds == ["debit.scheduled", "debit.succeeded"]

    await run_until(autopay, clock, sh("2026-11-23 13:00"))
    assert len(await debits(engine)) == 1  # NORMAL again: nothing more to do

    await water_use(engine, clock, date(2026, 11, 23), "5")  # 25 yuan: 5000 → 2500, NORMAL
    await run_until(autopay, clock, sh("2026-11-23 14:00"))
    assert len(await debits(engine)) == 1
    await water_use(engine, clock, date(2026, 11, 24), "5")  # 2500 → 0: a new episode
    await run_until(autopay, clock, sh("2026-11-23 15:00"))
    assert [(d.status, d.episode) for d in await debits(engine)] == [
        ("SUCCEEDED", first.episode), ("SUCCEEDED", first.episode + 1)
    ]  # fmt: skip
    assert (await account(engine)).balance == 5000
    await books_balance(engine)


async def test_a_top_up_by_hand_first_cancels_the_automatic_one(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    clock.set(sh("2026-11-23 23:00"))  # out of hours: the top-up waits for 07:00
    await prepaid_water(engine, clock)
    await sign(wechat, topup_amount=5000)
    await autopay.run_autopay()
    (scheduled,) = await debits(engine)
    assert (scheduled.status, scheduled.planned_at) == ("SCHEDULED", sh("2026-11-24 07:00"))
    assert (await top_up(wechat, "BY-HAND", 8000)).status_code == 201
    await run_until(autopay, clock, sh("2026-11-24 08:00"))
    (debit,) = await debits(engine)
    assert (debit.status, debit.reason) == ("CANCELLED", "TOPPED_UP")
    assert await attempts(engine) == []
    assert (await account(engine)).balance == 8000


async def test_declined_everywhere_is_tried_daily_even_at_weekends_then_given_up(
    wechat: ChannelClient,
    autopay: Any,
    engine: AsyncEngine,
    clock: FrozenClock,
    wallet: Any,
) -> None:
    wallet[0].outcomes = OutcomePlan.parse("*=declined")
    clock.set(sh("2026-11-27 20:00"))  # a Friday evening
    await prepaid_water(engine, clock)
    await sign(wechat, topup_amount=5000)
    await run_until(autopay, clock, sh("2026-12-05 00:00"))
    (debit,) = await debits(engine)
    assert (debit.status, debit.reason) == ("FAILED", "ALL_SOURCES_FAILED")
    async with engine.connect() as conn:
        days = [
            r.day.isoformat()
            for r in await conn.execute(
                text(
                    "SELECT DISTINCT (at AT TIME ZONE 'Asia/Shanghai')::date AS day"
                    " FROM debit_attempts ORDER BY day"
                )
            )
        ]
    assert days == ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]  # Sat, Sun too
    (failed,) = await events(engine, "debit.failed")
    assert (failed.payload["purpose"], failed.payload["reason"]) == (
        "prepaid_topup", "ALL_SOURCES_FAILED"
    )  # fmt: skip
    await autopay.run_autopay()
    assert len(await debits(engine)) == 1  # the episode had its one top-up


async def test_the_top_up_amount_belongs_to_a_prepaid_account_and_within_the_cap(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    body = {"payer": "wx-payer", "biller": "BJWATER", "account": ACCOUNT, "topup_amount": 5000,
            "funding_sources": [{"id": "card-1", "label": "卡"}]}  # fmt: skip
    await prepaid_water(engine, clock)
    other = "0198765432"
    await import_bills(engine, clock, bill_line("B1", account=other))  # billed, not prepaid
    await bind(wechat, "wx-payer", other)
    await bind(wechat, "wx-payer")
    not_prepaid = await wechat.call("POST", "/v1/mandates", json=body | {"account": other})
    assert (not_prepaid.status_code, not_prepaid.json()["code"]) == (400, "MALFORMED_REQUEST")
    assert "not prepaid" in not_prepaid.json()["detail"]
    over = await wechat.call("POST", "/v1/mandates", json=body | {"cap": 4000})
    assert (over.status_code, over.json()["code"]) == (422, "AMOUNT_OUT_OF_RANGE")
    mandate = await sign(wechat, topup_amount=5000, cap=6000)
    path = f"/v1/mandates/{mandate['id']}"
    lower = await wechat.call("PATCH", path, json={"cap": 4000})
    assert (lower.status_code, lower.json()["code"]) == (422, "AMOUNT_OUT_OF_RANGE")
    changed = await wechat.call("PATCH", path, json={"topup_amount": 3000})
    assert (changed.status_code, changed.json()["topup_amount"]) == (200, 3000)
    float_amount = await wechat.call("PATCH", path, json={"topup_amount": 30.5})
    assert (float_amount.status_code, float_amount.json()["code"]) == (400, "MALFORMED_REQUEST")


async def test_two_engines_at_once_schedule_one_top_up(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await prepaid_water(engine, clock)
    await sign(wechat, topup_amount=5000)

    async def schedule() -> int:
        async with engine.begin() as conn:
            return await schedule_topups(conn, clock.now())

    counts = await asyncio.gather(*(schedule() for _ in range(4)))
    assert sorted(counts) == [0, 0, 0, 1]
    assert len(await debits(engine)) == 1
    assert len(await events(engine, "debit.scheduled")) == 1
