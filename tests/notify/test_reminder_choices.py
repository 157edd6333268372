"""Reminders the payer chooses: a binding's choice over the account's over the utility's
over the hub's, field by field; which reminders, how many days before, by which means."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import water
from tests.helpers import ACCOUNT, audited_actors, bill_line, import_bills, payment_body
from tests.notify.test_notify_support import (
    NOWHERE,
    announced,
    dispatch,
    point_at,
    queued,
    set_contacts,
    told,
)
from utilipay.bindings.reminders import ReminderChoice
from utilipay.clock import FrozenClock
from utilipay.notify.choices import change_account_choice, change_utility_defaults, in_force
from utilipay.notify.reminders import remind_due_bills
from utilipay_tools.client import ChannelClient

OTHER = "2598765432"
PHONE = "+8613800138000"
EMAIL = "lisi@example.com"
HUB_DAYS = 3  # UTILIPAY_REMIND_DAYS_BEFORE's default, which the dispatch helper uses


async def _bind(wechat: ChannelClient, payer: str, account: str = ACCOUNT) -> str:
    body = {"payer": payer, "biller": "BJWATER", "account": account}
    bound = await wechat.call("POST", "/v1/bindings", json=body)
    assert bound.status_code == 201, bound.text
    binding_id: str = bound.json()["id"]
    return binding_id


async def _choose_at_binding(wechat: ChannelClient, binding_id: str, **choice: Any) -> None:
    changed = await wechat.call("PATCH", f"/v1/bindings/{binding_id}", json={"reminders": choice})
    assert changed.status_code == 200, changed.text


async def _choose_for_account(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], account: str, **choice: Any
) -> None:
    async with engine.begin() as conn:
        await change_account_choice(
            conn, clock, water(world), account, ReminderChoice(**choice), actor="support"
        )


async def _utility_defaults(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], **choice: Any
) -> None:
    async with engine.begin() as conn:
        await change_utility_defaults(
            conn, clock, water(world), ReminderChoice(**choice), None, actor="ops"
        )


async def test_each_reminder_follows_the_nearest_choice_binding_account_utility_hub(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    world: dict[str, object],
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    # today is 2026-11-22 in Shanghai
    await import_bills(
        engine,
        clock,
        bill_line("B-2DAYS", due="2026-11-24"),
        bill_line("B-3DAYS", due="2026-11-25"),
        bill_line("B-4DAYS", due="2026-11-26"),
        bill_line("B-5DAYS", due="2026-11-27"),
        bill_line("O-3DAYS", OTHER, holder="李四", due="2026-11-25"),
        bill_line("O-5DAYS", OTHER, holder="李四", due="2026-11-27"),
    )
    await set_contacts(engine, ACCOUNT, phone=PHONE)
    await set_contacts(engine, OTHER, email=EMAIL)
    abc = await _bind(wechat, "wx-abc")
    await _choose_at_binding(wechat, abc, days_before=2, means=["channel"])
    await _utility_defaults(engine, clock, world, days_before=5)
    await _choose_for_account(engine, clock, world, ACCOUNT, days_before=4)
    await dispatch(engine, clock, hub)  # the bills' issue, told to everyone

    assert await remind_due_bills(engine, clock, HUB_DAYS) == 3
    reminded = await announced(engine, "bill.due_soon", "days_left")
    assert reminded == [("B-2DAYS", 2), ("B-4DAYS", 4), ("O-5DAYS", 5)]
    await dispatch(engine, clock, hub)
    assert told(await queued(engine), "bill.due_soon") == {
        "B-2DAYS": {("channel", "wx-abc")},  # the binding's own day
        "B-4DAYS": {("sms", PHONE)},  # the account's day: its holder's phone
        "O-5DAYS": {("email", EMAIL)},  # no choice of its own: the utility's default
    }
    assert await remind_due_bills(engine, clock, HUB_DAYS) == 0  # once per bill and day


async def test_without_any_choice_the_hub_s_days_and_every_means(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await import_bills(engine, clock, bill_line("B-3DAYS", due="2026-11-25"))
    await set_contacts(engine, ACCOUNT, phone=PHONE, email=EMAIL)
    await _bind(wechat, "wx-abc")
    assert await remind_due_bills(engine, clock, HUB_DAYS) == 1
    await dispatch(engine, clock, hub)
    assert told(await queued(engine), "bill.due_soon") == {
        "B-3DAYS": {("channel", "wx-abc"), ("sms", PHONE), ("email", EMAIL)}
    }


async def test_kinds_and_means_choose_who_is_told_of_what(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    world: dict[str, object],
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await import_bills(engine, clock, bill_line("B-3DAYS", due="2026-11-25"))  # told below
    await set_contacts(engine, ACCOUNT, phone=PHONE, email=EMAIL)
    abc = await _bind(wechat, "wx-abc")
    await _bind(wechat, "wx-dad")  # no choice of its own: the account's
    await _choose_for_account(engine, clock, world, ACCOUNT, kinds=["overdue"], means=["email"])
    await _choose_at_binding(wechat, abc, kinds=["issued", "due_soon"], means=["channel", "sms"])
    assert await remind_due_bills(engine, clock, HUB_DAYS) == 1
    await dispatch(engine, clock, hub)
    sent = await queued(engine)
    everyone_abc_chose = {("channel", "wx-abc"), ("sms", PHONE)}
    assert told(sent, "bill.issued") == {"B-3DAYS": everyone_abc_chose}
    assert told(sent, "bill.due_soon") == {"B-3DAYS": everyone_abc_chose}


async def test_nobody_wanting_a_due_soon_reminder_makes_none(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    await import_bills(engine, clock, bill_line("B-3DAYS", due="2026-11-25"))
    await _utility_defaults(engine, clock, world, kinds=["issued", "overdue"])
    assert await remind_due_bills(engine, clock, HUB_DAYS) == 0
    await _choose_for_account(engine, clock, world, ACCOUNT, kinds=["due_soon"])
    assert await remind_due_bills(engine, clock, HUB_DAYS) == 1


async def test_a_bill_paid_before_its_reminder_is_queued_is_not_reminded(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await import_bills(engine, clock, bill_line("B202610-0001", due="2026-11-25"))
    await set_contacts(engine, ACCOUNT, phone=PHONE)
    await dispatch(engine, clock, hub)
    assert await remind_due_bills(engine, clock, HUB_DAYS) == 1
    paid = await wechat.call("POST", "/v1/payments", json=payment_body())
    assert paid.status_code == 201, paid.text
    await dispatch(engine, clock, hub)
    assert told(await queued(engine), "bill.due_soon") == {}


async def test_a_changed_field_replaces_only_itself_and_inherit_resets_it(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    await _utility_defaults(engine, clock, world, days_before=7, means=["sms"])
    await _choose_for_account(engine, clock, world, ACCOUNT, kinds=["overdue"], days_before=1)
    await _choose_for_account(engine, clock, world, ACCOUNT, days_before=None)
    async with engine.connect() as conn:
        chosen = (await in_force(conn, water(world).id, ACCOUNT, HUB_DAYS)).account
    assert chosen == ReminderChoice(kinds=["overdue"], days_before=7, means=["sms"])
    assert await audited_actors(engine, "reminders.account_changed") == ["support", "support"]
    assert await audited_actors(engine, "reminders.defaults_changed") == ["ops"]


@pytest.mark.parametrize(
    ("choice", "says"),
    [
        ({"kinds": ["weekly"]}, "kinds.0"),
        ({"means": ["fax"]}, "means.0"),
        ({"days_before": 31}, "less than or equal to 30"),
        ({"days_before": -1}, "greater than or equal to 0"),
        ({"means": ["sms", "sms"]}, "each value may be given once"),
        ({"when": "never"}, "Extra inputs"),
    ],
)
def test_a_choice_out_of_bounds_is_refused(choice: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        ReminderChoice.model_validate(choice)


async def test_two_people_changing_different_fields_at_once_keep_both(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    """The second change waits for the first and starts from it (concurrent connections)."""
    biller = water(world)
    async with engine.connect() as first:
        await first.begin()
        await change_account_choice(
            first, clock, biller, ACCOUNT, ReminderChoice(kinds=["overdue"]), actor="a"
        )

        async def second_change() -> None:
            async with engine.begin() as second:
                await change_account_choice(
                    second, clock, biller, ACCOUNT, ReminderChoice(means=["email"]), actor="b"
                )

        second = asyncio.create_task(second_change())
        await asyncio.sleep(0.3)
        assert not second.done()  # held by the first
        await first.commit()
    await second
    async with engine.connect() as conn:
        chosen = (await in_force(conn, biller.id, ACCOUNT, HUB_DAYS)).account
    assert (chosen.kinds, chosen.means) == (["overdue"], ["email"])
