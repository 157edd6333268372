"""The brakes of binding verification (§13): SMS codes per payer, per account and per phone,
wrong holder names per payer and account; and a code used once whatever races."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bindings.sms import PHONE, ask_code, give_phone, texted_code
from tests.helpers import ACCOUNT, bill_line, import_bills
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient

ACCOUNTS = [f"011234567{n}" for n in range(7)]


@pytest.fixture
async def accounts(engine: AsyncEngine, clock: FrozenClock, world: Any) -> None:
    """Seven accounts of 张三, each its own phone."""
    await import_bills(engine, clock, *(bill_line(f"B{n}", a) for n, a in enumerate(ACCOUNTS)))
    for n, account in enumerate(ACCOUNTS):
        await give_phone(engine, clock, "BJWATER", account, f"1380013800{n}")


def limited(r: Any, retry_after: int) -> None:
    assert (r.status_code, r.json()["code"]) == (429, "RATE_LIMITED"), r.text
    assert int(r.headers["retry-after"]) == retry_after


async def test_five_codes_an_hour_per_payer(
    wechat: ChannelClient, accounts: None, clock: FrozenClock
) -> None:
    for account in ACCOUNTS[:5]:
        assert (await ask_code(wechat, "wx-a", "BJWATER", account)).status_code == 201
        clock.advance(timedelta(minutes=1))
    refusal = await ask_code(wechat, "wx-a", "BJWATER", ACCOUNTS[5])
    limited(refusal, 55 * 60)  # at 15:35; the first (15:30) leaves the hour at 16:30
    assert "this payer" in refusal.json()["detail"]
    assert (await ask_code(wechat, "wx-b", "BJWATER", ACCOUNTS[5])).status_code == 201
    clock.advance(timedelta(minutes=55))
    assert (await ask_code(wechat, "wx-a", "BJWATER", ACCOUNTS[6])).status_code == 201


async def test_five_codes_an_hour_per_account(
    wechat: ChannelClient, alipay: ChannelClient, accounts: None, engine: AsyncEngine
) -> None:
    for n in range(5):
        assert (await ask_code(wechat, f"wx-{n}", "BJWATER", ACCOUNT[:9] + "0")).status_code == 201
    refusal = await ask_code(alipay, "ali-x", "BJWATER", ACCOUNTS[0])
    limited(refusal, 3600)
    assert "this account" in refusal.json()["detail"]
    async with engine.connect() as conn:  # the refusal wrote nothing
        assert (await conn.execute(text("SELECT count(*) FROM binding_challenges"))).scalar() == 5


async def test_five_codes_an_hour_per_phone(
    wechat: ChannelClient, accounts: None, engine: AsyncEngine, clock: FrozenClock
) -> None:
    for account in ACCOUNTS:
        await give_phone(engine, clock, "BJWATER", account, PHONE)  # one family's phone
    for n, account in enumerate(ACCOUNTS[:5]):
        assert (await ask_code(wechat, f"wx-{n}", "BJWATER", account)).status_code == 201
    refusal = await ask_code(wechat, "wx-9", "BJWATER", ACCOUNTS[5])
    limited(refusal, 3600)
    assert "this phone" in refusal.json()["detail"]


async def test_five_wrong_names_hold_the_payer_and_the_account_back(
    wechat: ChannelClient, alipay: ChannelClient, accounts: None, clock: FrozenClock
) -> None:
    def body(payer: str, name: str, account: str = ACCOUNTS[0]) -> dict[str, Any]:
        return {"payer": payer, "biller": "BJWATER", "account": account,
                "verification": {"holder_name": name}}  # fmt: skip

    for guess in ("王一", "王二", "王三", "王四", "王五"):
        r = await wechat.call("POST", "/v1/bindings", json=body("wx-a", guess))
        assert r.json()["code"] == "FORBIDDEN"
    # even the right name now waits: the brake is checked before the name
    limited(await wechat.call("POST", "/v1/bindings", json=body("wx-a", "张三")), 900)
    limited(await alipay.call("POST", "/v1/bindings", json=body("ali", "张三")), 900)  # account
    other = body("wx-a", "张三", ACCOUNTS[1])
    limited(await wechat.call("POST", "/v1/bindings", json=other), 900)  # the payer
    clock.advance(timedelta(minutes=15))
    assert (await wechat.call("POST", "/v1/bindings", json=other)).status_code == 201


async def test_two_requests_giving_one_code_at_once_use_it_once(
    wechat: ChannelClient, accounts: None, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    payer = {"payer": "wx-a", "biller": "BJWATER", "account": ACCOUNTS[0]}
    await ask_code(wechat, "wx-a", "BJWATER", ACCOUNTS[0])
    code = await texted_code(engine, clock, hub)
    body = payer | {"verification": {"sms_code": code}}
    answers = await asyncio.gather(
        *(wechat.call("POST", "/v1/bindings", json=body) for _ in range(2))
    )
    assert sorted(r.status_code for r in answers) == [201, 403]
    async with engine.connect() as conn:
        used = (await conn.execute(text("SELECT tries, closed_why FROM binding_challenges"))).one()
        bound = (await conn.execute(text("SELECT count(*) FROM bindings"))).scalar_one()
    assert (tuple(used), bound) == ((0, "USED"), 1)
