"""Paying hosted bills through the channel API (channel-api.md §4, §5)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import ACCOUNT, bill_line, counts, import_bills, payment_body
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient


@pytest.fixture
async def bills(engine: AsyncEngine, clock: FrozenClock, world: Any) -> None:
    await import_bills(
        engine,
        clock,
        bill_line("B202610-0001", amount=12345),
        bill_line("B202609-0001", amount=8000, late_fee=40, period="2026-09", due="2026-10-31"),
        bill_line("B202610-0002", account="2598765432", amount=5000, holder="李四"),
    )


async def pay(client: ChannelClient, **overrides: Any) -> Any:
    return await client.call("POST", "/v1/payments", json=payment_body(**overrides))


async def test_payment_writes_the_bill_off_and_returns_the_receipt(
    wechat: ChannelClient, bills: None
) -> None:
    r = await pay(wechat)
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "SUCCEEDED"
    assert body["order_id"] == "WX20261122000123"
    assert body["biller"] == "BJWATER" and body["account"] == ACCOUNT
    assert body["amount"] == 12345 and body["currency"] == "CNY"
    assert body["bill_nos"] == ["B202610-0001"]
    assert body["id"].startswith("P")
    assert body["receipt_no"].startswith("R20261122")  # business date in Shanghai
    assert body["biller_serial"]
    assert body["created_at"] == "2026-11-22T15:30:00+08:00"
    assert body["finished_at"] == "2026-11-22T15:30:00+08:00"
    assert "failure_code" not in body

    left = await wechat.call("GET", "/v1/bills", params={"biller": "BJWATER", "account": ACCOUNT})
    assert [b["bill_no"] for b in left.json()["bills"]] == ["B202609-0001"]


async def test_the_receipt_number_uses_the_shanghai_business_date(
    wechat: ChannelClient, bills: None, clock: FrozenClock
) -> None:
    clock.set(clock.now().replace(hour=16, minute=30))  # 00:30 on the 23rd in Shanghai
    r = await pay(wechat)
    assert r.json()["receipt_no"].startswith("R20261123")


async def test_same_order_id_same_body_returns_the_same_payment(
    wechat: ChannelClient, bills: None, engine: AsyncEngine
) -> None:
    first = await pay(wechat)
    again = await pay(wechat)
    assert again.status_code == 200
    assert again.json() == first.json()
    # bill order does not make a different request
    assert (await counts(engine))["payments"] == 1


async def test_same_order_id_different_body_is_a_conflict(
    wechat: ChannelClient, bills: None, engine: AsyncEngine
) -> None:
    await pay(wechat)
    before = await counts(engine)
    r = await pay(wechat, amount=12300)
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "IDEMPOTENCY_CONFLICT"
    r = await pay(wechat, payer="someone-else")
    assert r.json()["code"] == "IDEMPOTENCY_CONFLICT"
    assert await counts(engine) == before


async def test_order_ids_are_per_channel(
    wechat: ChannelClient, alipay: ChannelClient, bills: None
) -> None:
    assert (await pay(wechat)).status_code == 201
    other = await pay(alipay, bill_nos=["B202609-0001"], amount=8040)
    assert other.status_code == 201


async def test_omitting_bill_nos_pays_everything_outstanding(
    wechat: ChannelClient, bills: None
) -> None:
    r = await pay(wechat, bill_nos=..., amount=12345 + 8040)
    assert r.status_code == 201
    assert sorted(r.json()["bill_nos"]) == ["B202609-0001", "B202610-0001"]
    left = await wechat.call("GET", "/v1/bills", params={"biller": "BJWATER", "account": ACCOUNT})
    assert left.json() == {
        "biller": "BJWATER",
        "account": ACCOUNT,
        "holder": "张*",
        "bills": [],
        "total": 0,
        "currency": "CNY",
    }


async def test_the_amount_must_equal_the_bills_total_late_fee_included(
    wechat: ChannelClient, bills: None, engine: AsyncEngine
) -> None:
    r = await pay(wechat, bill_nos=["B202609-0001"], amount=8000)
    assert r.status_code == 422
    assert r.json()["code"] == "AMOUNT_MISMATCH"
    assert r.json()["detail"] == "bills total 8040, got 8000"
    assert (await counts(engine))["payments"] == 0
    assert (await pay(wechat, bill_nos=["B202609-0001"], amount=8040)).status_code == 201


async def test_a_paid_bill_cannot_be_paid_again(
    wechat: ChannelClient, alipay: ChannelClient, bills: None, engine: AsyncEngine
) -> None:
    await pay(wechat)
    before = await counts(engine)
    for client, order in ((wechat, "WX-2"), (alipay, "ALI-1")):
        r = await pay(client, order_id=order)
        assert r.status_code == 409
        assert r.json()["code"] == "BILL_ALREADY_PAID"
    assert await counts(engine) == before


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"bill_nos": ["NO-SUCH-BILL"]}, "NOT_FOUND"),
        ({"bill_nos": ["B202610-0002"], "amount": 5000}, "NOT_FOUND"),  # another account's bill
        ({"account": "0900000000", "bill_nos": ...}, "ACCOUNT_NOT_FOUND"),
    ],
)
async def test_bills_that_are_not_the_accounts_are_refused(
    wechat: ChannelClient, bills: None, engine: AsyncEngine, overrides: Any, code: str
) -> None:
    r = await pay(wechat, **overrides)
    assert r.status_code == 404
    assert r.json()["code"] == code
    assert (await counts(engine))["payments"] == 0


async def test_nothing_due(wechat: ChannelClient, bills: None) -> None:
    await pay(wechat, bill_nos=..., amount=20385)
    r = await pay(wechat, order_id="WX-next", bill_nos=..., amount=100)
    assert r.status_code == 422
    assert r.json()["code"] == "NO_BILL_DUE"


async def test_payment_lookup_by_id_and_by_order_id(
    wechat: ChannelClient, alipay: ChannelClient, bills: None
) -> None:
    paid = (await pay(wechat)).json()
    by_id = await wechat.call("GET", f"/v1/payments/{paid['id']}")
    assert by_id.status_code == 200 and by_id.json() == paid
    by_order = await wechat.call("GET", "/v1/payments", params={"order_id": paid["order_id"]})
    assert by_order.json() == paid

    foreign = await alipay.call("GET", f"/v1/payments/{paid['id']}")
    assert foreign.status_code == 403 and foreign.json()["code"] == "FORBIDDEN"
    # order ids are the channel's own: another channel simply has no such order
    assert (
        await alipay.call("GET", "/v1/payments", params={"order_id": paid["order_id"]})
    ).status_code == 404
    missing = await wechat.call("GET", "/v1/payments/P0000")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"


async def test_a_payment_is_booked_double_entry_and_announced_in_the_outbox(
    wechat: ChannelClient, bills: None, engine: AsyncEngine
) -> None:
    paid = (await pay(wechat)).json()
    async with engine.connect() as conn:
        postings = (
            await conn.execute(
                text(
                    "SELECT a.kind, p.amount FROM postings p"
                    " JOIN journal_entries e ON e.biller_id = p.biller_id AND e.id = p.entry_id"
                    " JOIN ledger_accounts a ON a.id = p.account_id"
                    " WHERE e.payment_id = :id ORDER BY p.line_no"
                ),
                {"id": paid["id"]},
            )
        ).all()
        events = (
            await conn.execute(
                text("SELECT event_type, payload FROM outbox_events WHERE aggregate_id = :id"),
                {"id": paid["id"]},
            )
        ).all()
    assert [tuple(p) for p in postings] == [
        ("CHANNEL_RECEIVABLE", 12345),
        ("BILLER_PAYABLE", -12345),
    ]
    assert len(events) == 1
    assert events[0].event_type == "payment.succeeded"
    assert events[0].payload["receipt_no"] == paid["receipt_no"]
    assert events[0].payload["order_id"] == paid["order_id"]


async def test_a_suspended_biller_takes_no_payments(
    wechat: ChannelClient, bills: None, engine: AsyncEngine, hub: Any
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE billers SET status = 'SUSPENDED'"))
    await hub.directory.reload()
    r = await pay(wechat)
    assert r.status_code == 404 and r.json()["code"] == "BILLER_NOT_FOUND"
