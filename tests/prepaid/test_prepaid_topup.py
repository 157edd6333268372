"""Topping a prepaid balance up through the channel API, and the books it keeps."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import (
    ACCOUNT,
    install_meter,
    open_customer_account,
    payment_body,
    prepaid_ready,
    residential_tariff,
)
from utilipay.billers import repository as billers_repo
from utilipay.clock import SHANGHAI, FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.prepaid import service as prepaid
from utilipay.prepaid.rules import State
from utilipay.runtime.books import check_books
from utilipay_tools.client import ChannelClient


async def open_account(engine: AsyncEngine, clock: FrozenClock, account: str = ACCOUNT) -> None:
    """A hosted account with no bills, on the water tariff, its meter in service, enrolled in
    prepaid (reminder: 20 yuan)."""
    async with engine.begin() as conn:
        await open_customer_account(conn, "BJWATER", account)
        await prepaid_ready(conn, clock, "BJWATER", account, tariff="BJ_WATER_RES")
        await prepaid.enroll(conn, clock, "BJWATER", account, actor="test")


async def top_up(wechat: ChannelClient, order_id: str, amount: int) -> Any:
    body = payment_body(order_id, amount=amount, bill_nos=...)
    return await wechat.call("POST", "/v1/payments", json=body)


async def account(engine: AsyncEngine) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT * FROM prepaid_accounts"))).one()


async def events(engine: AsyncEngine, kind: str) -> list[Any]:
    async with engine.connect() as conn:
        query = text("SELECT payload FROM outbox_events WHERE event_type = :k ORDER BY id")
        return [r.payload for r in await conn.execute(query, {"k": kind})]


async def books_hold(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        failed = [(r.check.name, r.violations) for r in await check_books(conn) if not r.passed]
    assert failed == []


async def test_a_payment_without_bills_tops_the_balance_up(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await open_account(engine, clock)
    assert (await account(engine)).state == "ARREARS"  # enrolled at zero
    r = await top_up(wechat, "TOPUP-1", 5000)
    assert r.status_code == 201, r.text
    paid = r.json()
    assert (paid["status"], paid["purpose"], paid["bill_nos"]) == (
        "SUCCEEDED", "prepaid_topup", []
    )  # fmt: skip
    assert paid["receipt_no"].startswith("R")
    after = await account(engine)
    assert (after.balance, after.state) == (5000, "NORMAL")
    (event,) = await events(engine, "payment.succeeded")
    assert (event["purpose"], event["balance"]) == ("prepaid_topup", 5000)

    again = await top_up(wechat, "TOPUP-1", 5000)
    assert (again.status_code, again.json()) == (200, paid)
    other = await top_up(wechat, "TOPUP-1", 6000)
    assert (other.status_code, other.json()["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    assert (await account(engine)).balance == 5000
    await books_hold(engine)


async def test_concurrent_top_ups_all_count_once(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await open_account(engine, clock)
    orders = [f"TOPUP-{n}" for n in range(12)]
    answers = await asyncio.gather(
        *(top_up(wechat, order, 1000) for order in orders + orders)  # each order twice
    )
    assert sorted(a.status_code for a in answers) == [200] * 12 + [201] * 12
    assert (await account(engine)).balance == 12 * 1000
    await books_hold(engine)


async def test_an_account_without_bills_that_is_not_prepaid_has_nothing_due(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO customer_accounts (biller_id, account_no, holder_name, address,"
                " created_at, language) SELECT id, :a, '李四', '', now(), 'zh-CN'"
                " FROM billers WHERE code = 'BJWATER'"
            ),
            {"a": ACCOUNT},
        )
    r = await top_up(wechat, "TOPUP-1", 5000)
    assert (r.status_code, r.json()["code"]) == (422, "NO_BILL_DUE")
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM payments"))).scalar_one() == 0


async def test_a_top_up_that_ends_a_cut_asks_for_the_reconnect(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await open_account(engine, clock)
    async with engine.begin() as conn:  # as the grace pass leaves it
        await conn.execute(text("UPDATE prepaid_accounts SET state = 'CUT', cuts = 1"))
    assert (await top_up(wechat, "TOPUP-SMALL", 1)).status_code == 201
    restored = await events(engine, "prepaid.restored")
    assert [(e["state"], e["cuts"], e["balance"]) for e in restored] == [("LOW", 1, 1)]
    assert (await account(engine)).state == "LOW"


async def test_the_pre_store_reward_is_granted_once_a_month(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE billers SET prepaid_reward_points = 10"))
    await hub.directory.reload()
    await open_account(engine, clock)
    assert (await top_up(wechat, "SMALL", 4999)).status_code == 201  # below the minimum
    assert (await top_up(wechat, "FIRST", 5000)).status_code == 201
    assert (await top_up(wechat, "SECOND", 9000)).status_code == 201
    rewarded = await events(engine, "prepaid.rewarded")
    assert [(e["points"], e["month"]) for e in rewarded] == [(10, "2026-11")]
    clock.set(clock.now().replace(month=12))
    assert (await top_up(wechat, "NEXT-MONTH", 5000)).status_code == 201
    assert len(await events(engine, "prepaid.rewarded")) == 2


async def test_only_a_hosted_billers_existing_accounts_are_enrolled(
    engine: AsyncEngine, clock: FrozenClock, world: Any
) -> None:
    async with engine.begin() as conn:
        with pytest.raises(DomainError, match="has no account"):
            await prepaid.enroll(conn, clock, "BJWATER", "0199999999", actor="test")
    await open_account(engine, clock)
    async with engine.begin() as conn:
        biller = await billers_repo.by_code(conn, "BJWATER")
        assert biller is not None
        again = await prepaid.enroll(conn, clock, "BJWATER", ACCOUNT, actor="test")
        assert again == await prepaid.find(conn, biller, ACCOUNT)
        assert again.state is State.ARREARS and again.reminder == 2000


async def test_enrolment_needs_a_tariff_and_a_meter_in_service_from_its_first_day(
    engine: AsyncEngine, clock: FrozenClock, world: Any
) -> None:
    """A prepaid account nobody can price or measure would only ever run into arrears and
    be cut: it is refused, with what to do, and nothing is written."""
    first = date(2026, 11, 1)

    async def enroll() -> None:
        async with engine.begin() as conn:
            await prepaid.enroll(conn, clock, "BJWATER", ACCOUNT, accrue_from=first, actor="t")

    async with engine.begin() as conn:
        await open_customer_account(conn, "BJWATER", ACCOUNT)
    with pytest.raises(DomainError) as no_tariff:
        await enroll()
    assert no_tariff.value.code is ErrorCode.TARIFF_REQUIRED
    assert "no tariff for its residential customers on 2026-11-01" in no_tariff.value.detail
    async with engine.begin() as conn:
        await residential_tariff(conn, clock, "BJWATER", "BJ_WATER_RES", date(2026, 11, 2))
    with pytest.raises(DomainError, match="no tariff") as late_tariff:
        await enroll()  # the tariff starts the day after the account's first day
    assert late_tariff.value.code is ErrorCode.TARIFF_REQUIRED
    async with engine.begin() as conn:
        await residential_tariff(conn, clock, "BJWATER", "BJ_WATER_RES")
        await install_meter(conn, "BJWATER", ACCOUNT, meter_id="OLD", removed=sh("2026-10-31"))
        await install_meter(conn, "BJWATER", ACCOUNT, meter_id="NEXT", since=sh("2026-11-02"))
    with pytest.raises(DomainError) as no_meter:
        await enroll()  # one meter was removed before, the next comes after
    assert no_meter.value.code is ErrorCode.METER_REQUIRED
    assert "no meter in service on 2026-11-01" in no_meter.value.detail
    async with engine.connect() as conn:
        written = "SELECT (SELECT count(*) FROM prepaid_accounts) + (SELECT count(*)"
        written += " FROM ledger_accounts WHERE kind = 'PREPAID_BALANCE')"
        assert (await conn.execute(text(written))).scalar_one() == 0
    async with engine.begin() as conn:
        await install_meter(conn, "BJWATER", ACCOUNT, meter_id="NOW", since=sh("2026-11-01 18:00"))
    await enroll()
    assert (await account(engine)).accrue_from == first


def sh(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=SHANGHAI)
