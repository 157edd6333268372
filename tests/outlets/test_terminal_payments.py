"""Payments from an outlet's terminals (channel-api.md §11): authentication, the float
taken with the write-off, operators, tenders, store and forward."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SECRET
from tests.helpers import bill_line, counts, import_bills, payment_body
from tests.outlets.conftest import Shop
from tests.outlets.rows import TERMINAL_SECRET
from utilipay.clock import FrozenClock
from utilipay.runtime.books import check_books
from utilipay_tools.client import ChannelClient, TerminalClient


@pytest.fixture
async def bills(engine: AsyncEngine, clock: FrozenClock, world: Any) -> None:
    await import_bills(
        engine,
        clock,
        bill_line("B202610-0001", amount=12345),
        bill_line("B202610-0002", account="2598765432", amount=5000, holder="李四"),
    )


async def pay(client: ChannelClient, **overrides: Any) -> Any:
    return await client.call("POST", "/v1/payments", json=payment_body(**overrides))


async def books_hold(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return [v for r in await check_books(conn) for v in r.violations]


async def test_a_terminal_payment_takes_the_float_with_the_write_off(
    shop: Shop, bills: None, engine: AsyncEngine
) -> None:
    await shop.deposit(20000)
    r = await pay(shop.client())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "SUCCEEDED"
    assert body["outlet"] == "SHOP1" and body["terminal"] == shop.terminal_id
    assert body["tender"] == "cash" and body["forwarded"] is False
    assert "collected_at" not in body
    assert await shop.float() == (20000 - 12345, 0)
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM outlet_payments"))).one()
    assert row.float_state == "TAKEN" and row.amount == 12345
    assert row.terminal_id == shop.terminal_id and row.operator_code is None
    assert await books_hold(engine) == []


async def test_a_float_that_cannot_cover_the_payment_refuses_it_writing_nothing(
    shop: Shop, bills: None, engine: AsyncEngine
) -> None:
    await shop.deposit(12344)
    before = await counts(engine)
    r = await pay(shop.client())
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "FLOAT_INSUFFICIENT"
    assert await counts(engine) == before
    assert await shop.float() == (12344, 0)
    await shop.deposit(1)  # enough now: the same order goes through
    assert (await pay(shop.client())).status_code == 201
    assert await shop.float() == (0, 0)


async def test_the_same_order_again_is_the_same_payment_and_takes_nothing_more(
    shop: Shop, bills: None
) -> None:
    await shop.deposit(30000)
    first = await pay(shop.client())
    again = await pay(shop.client())
    assert again.status_code == 200 and again.json() == first.json()
    assert await shop.float() == (30000 - 12345, 0)
    conflict = await shop.client().call(
        "POST", "/v1/payments", json={**payment_body(), "tender": "card"}
    )
    assert conflict.json()["code"] == "IDEMPOTENCY_CONFLICT"


async def test_a_channel_payment_is_as_before_and_may_not_name_an_operator(
    wechat: ChannelClient, shop: Shop, bills: None
) -> None:
    r = await wechat.call("POST", "/v1/payments", json={**payment_body(), "operator": "OP1"})
    assert r.status_code == 400
    assert (await pay(wechat)).json()["status"] == "SUCCEEDED"
    assert await shop.float() == (0, 0)


async def test_refused_terminals_get_401_and_nothing_is_written(
    shop: Shop, bills: None, engine: AsyncEngine, alipay: ChannelClient, world: Any
) -> None:
    await shop.deposit(50000)
    before = await counts(engine)
    unknown = await pay(shop.client("T999999"))
    wrong_secret = await pay(
        TerminalClient(shop.http, "WECHAT", shop.terminal_id, "not-it", shop.clock)
    )
    other_channel = await pay(
        TerminalClient(shop.http, "ALIPAY", shop.terminal_id, TERMINAL_SECRET, shop.clock)
    )
    channel_secret = await pay(TerminalClient(shop.http, "WECHAT", shop.terminal_id, SECRET,
                                              shop.clock))  # fmt: skip
    await shop.run("UPDATE terminals SET status = 'REVOKED' WHERE id = :id", id=shop.terminal_id)
    revoked = await pay(shop.client())
    await shop.run("UPDATE terminals SET status = 'ACTIVE' WHERE id = :id", id=shop.terminal_id)
    await shop.run("UPDATE outlets SET status = 'SUSPENDED' WHERE id = :id", id=shop.outlet_id)
    suspended = await pay(shop.client())
    for r in (unknown, wrong_secret, other_channel, channel_secret, revoked, suspended):
        assert r.status_code == 401, r.text
        assert r.json()["code"] == "UNAUTHENTICATED"
    after = await counts(engine)
    assert {k: v for k, v in after.items() if k != "channel_nonces"} == {
        k: v for k, v in before.items() if k != "channel_nonces"
    }
    assert await shop.float() == (50000, 0)


async def test_a_rotated_terminal_signs_with_either_secret_and_replays_are_refused(
    shop: Shop, bills: None
) -> None:
    await shop.deposit(50000)
    await shop.run(
        "UPDATE terminals SET previous_secret = secret, secret = :new WHERE id = :id",
        new="the-new-terminal-secret-0123456789", id=shop.terminal_id,
    )  # fmt: skip
    old = shop.client()
    new = TerminalClient(shop.http, "WECHAT", shop.terminal_id,
                         "the-new-terminal-secret-0123456789", shop.clock)  # fmt: skip
    assert (await pay(old)).status_code == 201
    assert (await pay(new, order_id="ORDER-NEW-SECRET", account="2598765432",
                      amount=5000, bill_nos=["B202610-0002"])).status_code == 201  # fmt: skip
    request = old.build("GET", "/v1/outlet", nonce="same-nonce-0123456789")
    assert (await old.send(request)).status_code == 200
    replayed = old.build("GET", "/v1/outlet", nonce="same-nonce-0123456789")
    assert (await old.send(replayed)).status_code == 401


async def test_counters_name_an_active_operator_of_their_own_outlet(
    shop: Shop, bills: None, engine: AsyncEngine
) -> None:
    counter = await Shop(shop.engine, shop.clock, shop.http, shop.directory, shop.channel).open(
        kind="counter", code="COUNTER1"
    )
    await counter.deposit(50000)
    await counter.operator("OP1")
    await counter.operator("OP2", status="DISABLED")
    await shop.operator("SHOPOP")  # an operator of another outlet
    before = await counts(engine)
    missing = await pay(counter.client())
    assert missing.status_code == 400 and "operator" in missing.json()["detail"]
    for stranger in ("OP2", "SHOPOP", "NOBODY"):
        r = await pay(counter.client(), operator=stranger)
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "FORBIDDEN"
    assert {k: v for k, v in (await counts(engine)).items() if k != "channel_nonces"} == {
        k: v for k, v in before.items() if k != "channel_nonces"
    }
    ok = await pay(counter.client(), operator="OP1", tender="card")
    assert ok.status_code == 201 and ok.json()["operator"] == "OP1"
    assert ok.json()["tender"] == "card"


@pytest.mark.parametrize(
    ("collected_at", "words"),
    [
        ("2026-11-22T16:00:00+08:00", "in the future"),
        ("2026-11-19T15:29:00+08:00", "more than 72 hours"),
        ("2026-11-22T10:00:00", "RFC 3339"),
        ("yesterday", "RFC 3339"),
    ],
)
async def test_a_bad_collection_time_is_refused_precisely(
    shop: Shop, bills: None, collected_at: str, words: str
) -> None:
    collector = await Shop(shop.engine, shop.clock, shop.http, shop.directory, shop.channel).open(
        kind="collector", code="COLL1", type_="pos_mobile"
    )
    await collector.operator("E1")
    await collector.deposit(50000)
    r = await pay(collector.client(), operator="E1", collected_at=collected_at)
    assert r.status_code == 400
    assert words in r.json()["detail"]
    assert await collector.float() == (50000, 0)


async def test_only_a_mobile_pos_forwards_payments(shop: Shop, bills: None) -> None:
    await shop.deposit(50000)
    r = await pay(shop.client(), collected_at="2026-11-22T10:00:00+08:00")
    assert r.status_code == 400 and "pos_mobile" in r.json()["detail"]


async def test_a_forwarded_payment_keeps_both_times_and_a_bill_paid_meanwhile_is_due_back(
    shop: Shop, bills: None, wechat: ChannelClient, engine: AsyncEngine, clock: FrozenClock
) -> None:
    collector = await Shop(shop.engine, shop.clock, shop.http, shop.directory, shop.channel).open(
        kind="collector", code="COLL1", type_="pos_mobile"
    )
    await collector.operator("E1")
    await collector.deposit(50000)
    ok = await pay(collector.client(), operator="E1", collected_at="2026-11-21T10:00:00+08:00")
    assert ok.status_code == 201
    assert ok.json()["forwarded"] is True
    assert ok.json()["collected_at"] == "2026-11-21T10:00:00+08:00"
    assert ok.json()["created_at"] == "2026-11-22T15:30:00+08:00"
    # the other bill is paid at the wallet meanwhile; the collector's copy arrives later
    await pay(wechat, order_id="WX-OTHER", account="2598765432", amount=5000,
              bill_nos=["B202610-0002"])  # fmt: skip
    clock.advance(timedelta(minutes=5))
    late = dict(order_id="COLL-2", account="2598765432", amount=5000, bill_nos=["B202610-0002"],
                operator="E1", collected_at="2026-11-22T09:00:00+08:00")  # fmt: skip
    for _ in range(2):  # a retry lists it once
        refused = await pay(collector.client(), **late)
        assert refused.status_code == 409 and refused.json()["code"] == "BILL_ALREADY_PAID"
    assert await collector.float() == (50000 - 12345, 0)
    due = await collector.client().call("GET", "/v1/outlet/refunds-due")
    assert due.status_code == 200
    (item,) = due.json()["refunds_due"]
    assert item["order_id"] == "COLL-2" and item["amount"] == 5000
    assert item["code"] == "BILL_ALREADY_PAID" and item["operator"] == "E1"
    assert item["collected_at"] == "2026-11-22T09:00:00+08:00"
    assert item["received_at"] == "2026-11-22T15:35:00+08:00"
    # another outlet's list is its own
    assert (await shop.client().call("GET", "/v1/outlet/refunds-due")).json()["refunds_due"] == []


async def test_get_outlet_shows_the_float_and_todays_figures(
    shop: Shop, bills: None, wechat: ChannelClient, clock: FrozenClock
) -> None:
    await shop.deposit(30000)
    await pay(shop.client())
    clock.advance(timedelta(hours=9))  # 00:30 the next day in Shanghai
    await pay(shop.client(), order_id="NEXT-DAY", account="2598765432", amount=5000,
              bill_nos=["B202610-0002"])  # fmt: skip
    r = await shop.client().call("GET", "/v1/outlet")
    assert r.status_code == 200
    assert r.json() == {
        "outlet": "SHOP1",
        "float": {"balance": 30000 - 12345 - 5000, "held": 0, "low_threshold": 0},
        "today": {"count": 1, "amount": 5000, "voids": 0},
    }
    assert (await wechat.call("GET", "/v1/outlet")).status_code == 403


async def test_utilipay_check_finds_a_float_that_does_not_match_its_books(
    shop: Shop, bills: None, engine: AsyncEngine
) -> None:
    await shop.deposit(30000)
    await pay(shop.client())
    assert await books_hold(engine) == []
    await shop.run("UPDATE outlet_floats SET balance = balance + 1")
    assert any("float balance" in v for v in await books_hold(engine))
    await shop.run("UPDATE outlet_floats SET balance = balance - 1, held = 1")
    assert any("held 1" in v for v in await books_hold(engine))
    await shop.run("UPDATE outlet_floats SET held = 0")
    await shop.run("UPDATE outlet_payments SET amount = amount - 1")
    assert any("the float is debited 12345" in v for v in await books_hold(engine))
