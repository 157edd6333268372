"""Overdue notices (逾期提醒): on a utility's schedule of days after the due date, each
(bill, day) once even with concurrent passes, never for a bill paid meanwhile, to whom
the reminder choice in force wants it."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import water
from tests.helpers import ACCOUNT, bill_line, import_bills, payment_body
from tests.notify.test_notify_support import (
    NOWHERE,
    announced,
    dispatch,
    point_at,
    queued,
    set_contacts,
    told,
)
from utilipay.billing import latefee_service
from utilipay.billing.latefees import LateFeeRule
from utilipay.bindings.reminders import ReminderChoice
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError
from utilipay.notify.choices import change_account_choice, change_utility_defaults
from utilipay.notify.overdue import send_overdue_notices
from utilipay_tools.client import ChannelClient

PHONE = "+8613800138000"
# today is 2026-11-22 in Shanghai; the schedule is days 1, 7 and 15 after the due date
BILLS = (
    bill_line("D-00", due="2026-11-22"),  # due today: not overdue
    bill_line("D-01", due="2026-11-21"),  # day 1
    bill_line("D-07", due="2026-11-15", late_fee=40),  # day 7
    bill_line("D-09", due="2026-11-13"),  # day 7, missed two days ago: caught up
    bill_line("D-11", due="2026-11-11"),  # day 7 too long ago, day 15 not yet
    bill_line("D-15", due="2026-11-07"),  # day 15
    bill_line("D-20", due="2026-11-02"),  # day 15 too long ago
)


async def _schedule(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], days: list[int]
) -> None:
    async with engine.begin() as conn:
        await change_utility_defaults(
            conn, clock, water(world), ReminderChoice(), days, actor="ops"
        )


@pytest.fixture
async def overdue(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, world: dict[str, object]
) -> None:
    """BILLS on the schedule 1, 7, 15; the account has a phone, WECHAT a webhook URL."""
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await import_bills(engine, clock, *BILLS)
    await set_contacts(engine, ACCOUNT, phone=PHONE)
    await _schedule(engine, clock, world, [1, 7, 15])


async def _payload(engine: AsyncEngine, bill_no: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        found: dict[str, Any] = (
            await conn.execute(
                text(
                    "SELECT payload FROM outbox_events"
                    " WHERE event_type = 'bill.overdue' AND aggregate_id = :b"
                ),
                {"b": bill_no},
            )
        ).scalar_one()
        return found


async def test_each_bill_is_noticed_on_the_latest_schedule_day_it_reached(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    await import_bills(engine, clock, *BILLS)
    assert await send_overdue_notices(engine, clock) == 0  # no schedule, no notice
    await _schedule(engine, clock, world, [15, 1, 7])
    assert await send_overdue_notices(engine, clock) == 4
    noticed = await announced(engine, "bill.overdue", "schedule_day")
    assert noticed == [("D-01", 1), ("D-07", 7), ("D-09", 7), ("D-15", 15)]
    assert await _payload(engine, "D-07") == {
        "biller": "BJWATER",
        "account_no": ACCOUNT,
        "bill_no": "D-07",
        "period": "2026-10",
        "amount": 12345,
        "late_fee": 40,
        "due_date": "2026-11-15",
        "days_overdue": 7,
        "schedule_day": 7,
    }
    assert await send_overdue_notices(engine, clock) == 0  # each (bill, day) once
    clock.advance(timedelta(days=6))  # the 28th: D-01 reached day 7, D-09 and D-11 day 15
    assert await send_overdue_notices(engine, clock) == 3
    assert await announced(engine, "bill.overdue", "schedule_day") == [
        ("D-01", 1), ("D-01", 7), ("D-07", 7), ("D-09", 7), ("D-09", 15), ("D-11", 15),
        ("D-15", 15)
    ]  # fmt: skip


async def test_the_late_fee_noticed_is_the_rule_s_less_waivers_as_every_amount_due(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    """The pass computes the fee set-based (``bill_late_fees``): the same as the one-bill
    function every amount due uses, the rule's fee plus the imported one less waivers."""
    await import_bills(engine, clock, *BILLS)
    rule = LateFeeRule(date(2026, 1, 1), None, Decimal(1), grace_days=2)
    async with engine.begin() as conn:
        await latefee_service.add_rule(conn, clock, "BJWATER", rule, actor="t", reason="rule")
        await latefee_service.waive(conn, clock, "BJWATER", "D-09", 30, actor="t", reason="x")
    await _schedule(engine, clock, world, [1, 7, 15])
    assert await send_overdue_notices(engine, clock) == 4
    fees = {b: (await _payload(engine, b))["late_fee"] for b in ("D-01", "D-07", "D-09", "D-15")}
    # 12345 fen × 1 ‰ × (days overdue − 2 of grace), rounded half up, + imported − waived
    assert fees == {"D-01": 0, "D-07": 62 + 40, "D-09": 86 - 30, "D-15": 160}
    async with engine.connect() as conn:
        one_by_one = {
            b: (
                await conn.execute(
                    text(
                        "SELECT bill_late_fee(id, :b, DATE '2026-11-22') FROM billers"
                        " WHERE code = 'BJWATER'"
                    ),
                    {"b": b},
                )
            ).scalar_one()
            for b in fees
        }
    assert one_by_one == fees


async def test_concurrent_passes_notice_each_bill_and_day_once(
    engine: AsyncEngine, clock: FrozenClock, overdue: None
) -> None:
    counts = await asyncio.gather(*(send_overdue_notices(engine, clock) for _ in range(4)))
    assert sum(counts) == 4
    assert len(await announced(engine, "bill.overdue", "schedule_day")) == 4
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT count(*) FROM overdue_notices"))).scalar_one()
    assert rows == 4


async def test_a_bill_paid_before_the_pass_or_before_its_message_is_not_noticed(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient, overdue: None
) -> None:
    paid_first = payment_body("WX-D15", amount=12345, bill_nos=["D-15"])
    assert (await wechat.call("POST", "/v1/payments", json=paid_first)).status_code == 201
    assert await send_overdue_notices(engine, clock) == 3  # D-15 is paid already
    paid_meanwhile = payment_body("WX-D07", amount=12385, bill_nos=["D-07"])
    assert (await wechat.call("POST", "/v1/payments", json=paid_meanwhile)).status_code == 201
    await dispatch(engine, clock, hub)
    assert sorted(told(await queued(engine), "bill.overdue")) == ["D-01", "D-09"]


async def test_the_notice_tells_amount_days_late_fee_and_how_to_pay(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    world: dict[str, object],
) -> None:
    await import_bills(engine, clock, *BILLS)
    await set_contacts(engine, ACCOUNT, phone=PHONE)
    await _schedule(engine, clock, world, [7])
    await send_overdue_notices(engine, clock)
    await dispatch(engine, clock, hub)
    sms = {n.params["bill_no"]: n for n in await queued(engine) if n.template == "bill.overdue"}
    zh = sms["D-07"].text["zh-CN"]
    assert "逾期7天" in zh and "欠费123.45元" in zh and "滞纳金0.40元" in zh
    assert "合计123.85元" in zh and "营业厅" in zh


async def test_overdue_notices_follow_the_kinds_and_means_chosen(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    world: dict[str, object],
    overdue: None,
) -> None:
    async with engine.begin() as conn:
        no_overdue = ReminderChoice(kinds=["issued", "due_soon"])
        await change_account_choice(conn, clock, water(world), ACCOUNT, no_overdue, actor="cs")
    assert await send_overdue_notices(engine, clock) == 0  # nobody wants one
    bind = {"payer": "wx-abc", "biller": "BJWATER", "account": ACCOUNT}
    binding = (await wechat.call("POST", "/v1/bindings", json=bind)).json()["id"]
    wants = {"reminders": {"kinds": ["overdue"], "means": ["channel"]}}
    assert (await wechat.call("PATCH", f"/v1/bindings/{binding}", json=wants)).status_code == 200
    assert await send_overdue_notices(engine, clock) == 4
    await dispatch(engine, clock, hub)
    each_bill = told(await queued(engine), "bill.overdue")
    assert len(each_bill) == 4
    assert set().union(*each_bill.values()) == {("channel", "wx-abc")}  # no SMS: the account's no


async def test_a_suspended_utility_s_bills_are_not_noticed(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    await import_bills(engine, clock, *BILLS)
    await _schedule(engine, clock, world, [1])
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE billers SET status = 'SUSPENDED'"))
    assert await send_overdue_notices(engine, clock) == 0


@pytest.mark.parametrize("days", [[0], [366], [-1, 7]])
async def test_a_schedule_day_out_of_range_is_refused(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], days: list[int]
) -> None:
    with pytest.raises(DomainError, match="between 1 and 365"):
        await _schedule(engine, clock, world, days)
