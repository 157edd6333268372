"""From outbox events to queued notifications: who is told, in which language, once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from tests.conftest import channel, water
from tests.helpers import ACCOUNT, bill_line, import_bills, payment_body
from tests.notify.test_notify_support import (
    NOWHERE,
    by_kind,
    dispatch,
    point_at,
    queued,
    set_contacts,
    undispatch,
)
from utilipay.clock import FrozenClock, to_shanghai_iso
from utilipay.notify.queries import messages_for
from utilipay.outbox.service import Event, emit
from utilipay_tools.client import ChannelClient

BIND = {"payer": "wx-openid-abc", "biller": "BJWATER", "account": ACCOUNT}
PHONE = "+8613800138000"
EMAIL = "zhangsan@example.com"


async def _bind(client: ChannelClient, payer: str) -> dict[str, Any]:
    bound = await client.call("POST", "/v1/bindings", json={**BIND, "payer": payer})
    assert bound.status_code in (200, 201)
    body: dict[str, Any] = bound.json()
    return body


async def test_a_new_bill_is_told_to_each_bound_payer_and_the_holder(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    alipay: ChannelClient,
    world: dict[str, object],
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)  # ALIPAY has no URL: not told
    await import_bills(engine, clock, bill_line("B202610-0001", late_fee=40))
    await _bind(wechat, "wx-openid-abc")
    await _bind(wechat, "wx-openid-dad")
    gone = await _bind(wechat, "wx-openid-old")
    assert (await wechat.call("DELETE", f"/v1/bindings/{gone['id']}")).status_code == 204
    await _bind(alipay, "2088-alipay-user")
    await set_contacts(engine, ACCOUNT, phone=PHONE, email=EMAIL, language="en")

    assert await dispatch(engine, clock, hub) == 1
    sent = by_kind(await queued(engine))
    assert set(sent) == {
        ("channel", "wx-openid-abc"),
        ("channel", "wx-openid-dad"),
        ("email", EMAIL),
        ("sms", PHONE),
    }
    wx = sent["channel", "wx-openid-abc"]
    assert wx.channel_id == channel(world, "wechat").id
    assert (wx.template, wx.status, wx.attempts) == ("bill.issued", "PENDING", 0)
    assert wx.params == {
        "biller": "BJWATER",
        "biller_name": "北京自来水",
        "account_no": ACCOUNT,
        "bill_no": "B202610-0001",
        "period": "2026-10",
        "amount": 12345,
        "late_fee": 40,
        "due_date": "2026-11-30",
    }
    assert set(wx.text) == set(wx.subject) == {"zh-CN", "en"}  # a channel gets both
    assert "应缴123.85元" in wx.text["zh-CN"] and "123.85 yuan" in wx.text["en"]
    for contact in (sent["email", EMAIL], sent["sms", PHONE]):  # the holder's language only
        assert (contact.language, set(contact.text), contact.channel_id) == ("en", {"en"}, None)


async def test_dispatching_an_event_twice_queues_nothing_new(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await _bind(wechat, "wx-openid-abc")
    await set_contacts(engine, ACCOUNT, phone=PHONE, email=EMAIL)
    await dispatch(engine, clock, hub)
    first = await queued(engine)
    await undispatch(engine)
    clock.advance(timedelta(minutes=5))
    assert await dispatch(engine, clock, hub) == 1
    assert await queued(engine) == first
    assert len(first) == 3


async def test_a_payment_gets_its_receipt_at_the_channel_and_by_sms(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await set_contacts(engine, ACCOUNT, phone=PHONE)
    clock.advance(timedelta(hours=1))
    paid = (await wechat.call("POST", "/v1/payments", json=payment_body())).json()
    await dispatch(engine, clock, hub)
    everything = await queued(engine)
    receipt = by_kind(everything)["channel", "wx-openid-abc"]  # the payer; nobody is bound
    assert receipt.template == "payment.receipt"
    assert receipt.params == {
        "biller": "BJWATER",
        "biller_name": "北京自来水",
        "account_no": ACCOUNT,
        "payment_id": paid["id"],
        "order_id": "WX20261122000123",
        "bill_nos": ["B202610-0001"],
        "amount": 12345,
        "receipt_no": paid["receipt_no"],
        "paid_at": paid["finished_at"],
    }
    assert paid["receipt_no"] in receipt.text["zh-CN"] and "123.45元" in receipt.text["zh-CN"]
    sms = sorted((n for n in everything if n.recipient_kind == "sms"), key=lambda n: n.template)
    assert [n.template for n in sms] == ["bill.issued", "payment.receipt"]
    assert paid["receipt_no"] in sms[1].own_text


async def _mandate(engine: AsyncEngine, world: dict[str, object]) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO mandates (biller_id, id, channel_id, payer, account_no, cap,"
                " funding_sources, status, signed_at, updated_at)"
                " VALUES (:b, 'M01', :c, 'wx-openid-abc', :a, 80000, CAST(:sources AS jsonb),"
                " 'ACTIVE', now(), now())"
            ),
            {
                "b": water(world).id,
                "c": channel(world, "wechat").id,
                "a": ACCOUNT,
                "sources": '[{"id": "card-1", "label": "储蓄卡(1234)"},'
                ' {"id": "balance", "label": "余额"}]',
            },
        )


def _autopay_event(
    world: dict[str, object], event_type: str, clock: FrozenClock, **extra: Any
) -> Event:
    base: dict[str, Any] = {
        "biller": "BJWATER",
        "channel_id": channel(world, "wechat").id,
        "payer": "wx-openid-abc",
        "account_no": ACCOUNT,
    }
    if event_type.startswith("mandate."):
        base.update(mandate_id="M01", cap=80000, at=to_shanghai_iso(clock.now()))
    else:
        base.update(
            debit_id="D000000000001",
            mandate_id="M01",
            bill_nos=["B202610-0001"],
            amount=12345,
            planned_at="2026-11-23T09:30:00+08:00",
            deadline="2026-11-25T22:00:00+08:00",
        )
    return Event(water(world).id, event_type, "M01", {**base, **extra}, clock.now())


async def test_mandate_and_debit_events_become_their_messages(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, world: dict[str, object]
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await import_bills(engine, clock, bill_line("B202610-0001", due="2026-11-30"))
    await _mandate(engine, world)
    await dispatch(engine, clock, hub)  # the bill: nobody to tell
    events = [
        _autopay_event(world, "mandate.signed", clock),
        _autopay_event(world, "debit.scheduled", clock),
        _autopay_event(
            world,
            "debit.succeeded",
            clock,
            payment_id="P1",
            receipt_no="R1",
            funding_source="card-1",
        ),
        _autopay_event(world, "debit.failed", clock, reason="ALL_SOURCES_FAILED"),
        _autopay_event(world, "debit.skipped", clock, reason="OVER_CAP"),
        _autopay_event(world, "debit.skipped", clock, reason="OVER_CAP", cap=50000),
        _autopay_event(world, "mandate.cancelled", clock),
    ]
    async with engine.begin() as conn:
        await emit(conn, events)
    assert await dispatch(engine, clock, hub) == 7
    async with engine.connect() as conn:
        told = await messages_for(
            conn, channel_id=channel(world, "wechat").id, payer="wx-openid-abc"
        )
    assert [m.template for m in told] == [
        "mandate.signed",
        "debit.scheduled",
        "autopay.succeeded",
        "autopay.failed",
        "autopay.failed",
        "autopay.failed",
        "mandate.cancelled",
    ]
    signed, scheduled, succeeded, failed, skipped, skipped_then, _ = told
    assert "800.00元" in signed.text["zh-CN"]
    assert "2026年11月23日 09:30" in scheduled.text["zh-CN"]
    assert succeeded.params["funding_source_label"] == "储蓄卡(1234)"
    assert "储蓄卡(1234)" in succeeded.text["zh-CN"] and "R1" in succeeded.text["zh-CN"]
    assert failed.params["due_date"] == "2026-11-30"  # from the bill: pay by hand before it
    assert "请在2026年11月30日前手动缴费" in failed.text["zh-CN"]
    assert skipped.params["cap"] == 80000  # the mandate's, as the payload has none
    assert skipped_then.params["cap"] == 50000  # the one the payload says applied
    assert "800.00" in skipped.text["en"]


async def test_an_autopay_payment_is_told_once_as_autopay_not_also_as_a_receipt(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    world: dict[str, object],
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await _mandate(engine, world)
    async with engine.begin() as conn:  # the debit whose write-off is the payment below
        await conn.execute(
            text(
                "INSERT INTO debits (biller_id, id, mandate_id, channel_id, payer, account_no,"
                " purpose, bill_nos, amount, status, issued_at, planned_at, deadline,"
                " next_attempt_at, created_at)"
                " VALUES (:b, 'D000000000001', 'M01', :c, 'wx-openid-abc', :a, 'autopay',"
                " ARRAY['B202610-0001'], 12345, 'SENT', now(), now(), now(), now(), now())"
            ),
            {"b": water(world).id, "c": channel(world, "wechat").id, "a": ACCOUNT},
        )
    by_debit = payment_body(order_id="D000000000001")
    assert (await wechat.call("POST", "/v1/payments", json=by_debit)).status_code == 201
    async with engine.begin() as conn:
        await emit(
            conn,
            [
                _autopay_event(
                    world,
                    "debit.succeeded",
                    clock,
                    payment_id="P",
                    receipt_no="R9",
                    funding_source="balance",
                )
            ],
        )
    await dispatch(engine, clock, hub)
    assert [n.template for n in await queued(engine)] == ["autopay.succeeded"]
    ((n),) = await queued(engine)
    assert n.params["funding_source_label"] == "余额"


async def test_a_channel_without_a_webhook_url_is_not_told_but_the_holder_is(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await set_contacts(engine, ACCOUNT, email=EMAIL)
    assert (await wechat.call("POST", "/v1/payments", json=payment_body())).status_code == 201
    await dispatch(engine, clock, hub)
    assert [(n.recipient_kind, n.template) for n in await queued(engine)] == [
        ("email", "bill.issued"),
        ("email", "payment.receipt"),
    ]


async def test_an_account_the_hub_does_not_keep_is_told_in_chinese_at_the_channel(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, world: dict[str, object]
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    async with engine.begin() as conn:
        await emit(conn, [_autopay_event(world, "mandate.signed", clock, account_no="0500000001")])
    await dispatch(engine, clock, hub)
    ((n),) = await queued(engine)
    assert (n.recipient_kind, n.language, n.account_no) == ("channel", "zh-CN", "0500000001")
    assert "0500000001" in n.own_text and set(n.text) == {"zh-CN", "en"}


async def test_an_event_that_does_not_fit_its_template_is_logged_and_skipped(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, world: dict[str, object]
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    broken = _autopay_event(world, "debit.scheduled", clock)
    del broken.payload["amount"]
    async with engine.begin() as conn:
        await emit(conn, [broken, _autopay_event(world, "mandate.signed", clock)])
    with capture_logs() as logs:
        assert await dispatch(engine, clock, hub) == 2  # the outbox goes on
    assert [n.template for n in await queued(engine)] == ["mandate.signed"]
    (logged,) = [e for e in logs if e["event"] == "notify.event_unusable"]
    assert logged["event_type"] == "debit.scheduled" and "amount" in logged["error"]


async def test_messages_are_found_by_payer_or_by_account(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    world: dict[str, object],
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await _bind(wechat, "wx-openid-abc")
    await set_contacts(engine, ACCOUNT, phone=PHONE)
    await dispatch(engine, clock, hub)
    wechat_id = channel(world, "wechat").id
    async with engine.connect() as conn:
        mine = await messages_for(conn, channel_id=wechat_id, payer="wx-openid-abc")
        account = await messages_for(conn, biller_id=water(world).id, account_no=ACCOUNT)
        nobody = await messages_for(conn, channel_id=wechat_id, payer="someone-else")
        with pytest.raises(ValueError, match="whose messages"):
            await messages_for(conn)
    assert [(m.recipient_kind, m.status) for m in mine] == [("channel", "PENDING")]
    assert {m.recipient_kind for m in account} == {"channel", "sms"}
    assert nobody == []
