"""Binding verification (channel-api.md §13): each utility's mode, the holder's name, the SMS
code (expiry, tries, replacement, replay) and what a refusal leaves behind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from tests.bindings.sms import ask_code, give_phone, set_mode, texted_code
from tests.helpers import ACCOUNT, bill_line, import_bills
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Verification
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError
from utilipay_tools.client import ChannelClient

PAYER = "wx-openid-abc"
BIND = {"payer": PAYER, "biller": "BJWATER", "account": ACCOUNT}


@pytest.fixture
async def account(engine: AsyncEngine, clock: FrozenClock, world: Any) -> None:
    """BJWATER's account of 张三, its phone on record."""
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await give_phone(engine, clock, "BJWATER", ACCOUNT)


async def bind(client: ChannelClient, **verification: str) -> Any:
    body = BIND | ({"verification": verification} if verification else {})
    return await client.call("POST", "/v1/bindings", json=body)


def refused(r: Any, status: int, code: str) -> None:
    assert (r.status_code, r.json()["code"]) == (status, code), r.text


async def rows(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_mode_none_binds_unverified_unless_a_proof_is_given_and_holds(
    wechat: ChannelClient, account: None, clock: FrozenClock
) -> None:
    plain = await bind(wechat)
    assert plain.status_code == 201
    assert (plain.json()["verified"], plain.json()["verified_at"]) == (False, None)
    again = await bind(wechat, holder_name="　张 三 ")  # full-width space, spaces around
    assert again.status_code == 200  # the same binding, verified now
    assert again.json()["id"] == plain.json()["id"]
    assert again.json()["verified"] is True
    assert again.json()["verified_at"] == "2026-11-22T15:30:00+08:00"
    assert again.json()["holder"] == "张*"  # never the full name
    listed = await wechat.call("GET", "/v1/bindings", params={"payer": PAYER})
    assert [b["verified"] for b in listed.json()["bindings"]] == [True]
    shown = await wechat.call("GET", f"/v1/bindings/{plain.json()['id']}")
    assert shown.json()["verified"] is True
    patched = await wechat.call(
        "PATCH", f"/v1/bindings/{plain.json()['id']}", json={"reminders": {"days_before": 3}}
    )
    assert patched.json()["verified"] is True


async def test_a_wrong_proof_under_mode_none_is_refused_and_binds_nothing(
    wechat: ChannelClient, account: None, engine: AsyncEngine
) -> None:
    refused(await bind(wechat, holder_name="李四"), 403, "FORBIDDEN")
    assert await rows(engine, "bindings") == 0
    assert await rows(engine, "binding_failures") == 1  # only the attempt counter


async def test_mode_holder_name_needs_the_name_on_record(
    wechat: ChannelClient, account: None, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await set_mode(engine, clock, hub, Verification.HOLDER_NAME)
    missing = await bind(wechat)
    refused(missing, 403, "VERIFICATION_REQUIRED")
    assert "holder" in missing.json()["detail"]
    refused(await bind(wechat, holder_name="张四"), 403, "FORBIDDEN")
    assert await rows(engine, "bindings") == 0
    ok = await bind(wechat, holder_name="张三")
    assert (ok.status_code, ok.json()["verified"]) == (201, True)


async def test_mode_holder_name_also_takes_an_sms_code(
    wechat: ChannelClient, account: None, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await set_mode(engine, clock, hub, Verification.HOLDER_NAME)
    assert (await ask_code(wechat, PAYER, "BJWATER", ACCOUNT)).status_code == 201
    ok = await bind(wechat, sms_code=await texted_code(engine, clock, hub))
    assert (ok.status_code, ok.json()["verified"]) == (201, True)


async def test_mode_sms_needs_a_code_sent_to_the_phone_on_record(
    wechat: ChannelClient, account: None, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await set_mode(engine, clock, hub, Verification.SMS)
    refused(await bind(wechat), 403, "VERIFICATION_REQUIRED")
    refused(await bind(wechat, holder_name="张三"), 403, "VERIFICATION_REQUIRED")
    asked = await ask_code(wechat, PAYER, "BJWATER", ACCOUNT)
    assert asked.status_code == 201
    assert asked.json()["phone"] == "138****8000"
    assert asked.json()["expires_at"] == "2026-11-22T15:35:00+08:00"
    code = await texted_code(engine, clock, hub)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    refused(await bind(wechat, sms_code=wrong), 403, "FORBIDDEN")
    assert await rows(engine, "bindings") == 0
    ok = await bind(wechat, sms_code=code)
    assert (ok.status_code, ok.json()["verified"]) == (201, True)
    refused(await bind(wechat, sms_code=code), 403, "FORBIDDEN")  # a used code is spent


async def test_a_code_expires_after_five_minutes(
    wechat: ChannelClient, account: None, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await ask_code(wechat, PAYER, "BJWATER", ACCOUNT)
    code = await texted_code(engine, clock, hub)
    clock.advance(timedelta(minutes=5))
    refused(await bind(wechat, sms_code=code), 403, "FORBIDDEN")
    assert await rows(engine, "bindings") == 0


async def test_the_third_wrong_try_kills_the_code(
    wechat: ChannelClient, account: None, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await ask_code(wechat, PAYER, "BJWATER", ACCOUNT)
    code = await texted_code(engine, clock, hub)
    for n in range(1, 4):
        refused(await bind(wechat, sms_code=f"{(int(code) + n) % 10**6:06d}"), 403, "FORBIDDEN")
    refused(await bind(wechat, sms_code=code), 403, "FORBIDDEN")
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT tries, closed_why FROM binding_challenges"))).one()
    assert tuple(row) == (3, "TOO_MANY_TRIES")


async def test_a_new_code_replaces_the_previous_one(
    wechat: ChannelClient, account: None, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await ask_code(wechat, PAYER, "BJWATER", ACCOUNT)
    first = await texted_code(engine, clock, hub)
    clock.advance(timedelta(seconds=1))
    await ask_code(wechat, PAYER, "BJWATER", ACCOUNT)
    second = await texted_code(engine, clock, hub)
    if first != second:  # one chance in a million they are the same
        refused(await bind(wechat, sms_code=first), 403, "FORBIDDEN")
    assert (await bind(wechat, sms_code=second)).status_code == 201


async def test_a_code_is_the_payers_own(
    wechat: ChannelClient, alipay: ChannelClient, account: None, engine: AsyncEngine,
    clock: FrozenClock, hub: Any,
) -> None:  # fmt: skip
    await ask_code(wechat, PAYER, "BJWATER", ACCOUNT)
    code = await texted_code(engine, clock, hub)
    other = {"payer": "wx-other", "biller": "BJWATER", "account": ACCOUNT,
             "verification": {"sms_code": code}}  # fmt: skip
    refused(await wechat.call("POST", "/v1/bindings", json=other), 403, "FORBIDDEN")
    refused(await bind(alipay, sms_code=code), 403, "FORBIDDEN")  # another channel's payer
    assert (await bind(wechat, sms_code=code)).status_code == 201


async def test_an_account_without_a_phone_gets_no_code(
    wechat: ChannelClient, world: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001"))
    refused(await ask_code(wechat, PAYER, "BJWATER", ACCOUNT), 409, "PHONE_REQUIRED")
    refused(await ask_code(wechat, PAYER, "BJWATER", "0199999999"), 404, "ACCOUNT_NOT_FOUND")
    refused(await ask_code(wechat, PAYER, "BJWATER", "12"), 422, "INVALID_ACCOUNT")
    assert await rows(engine, "binding_challenges") == 0


async def test_the_code_is_stored_only_as_a_keyed_hash_and_never_logged(
    wechat: ChannelClient, account: None, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    with capture_logs() as logs:
        await ask_code(wechat, PAYER, "BJWATER", ACCOUNT)
        code = await texted_code(engine, clock, hub)
        await bind(wechat, sms_code=code)
    assert code not in repr(logs)
    async with engine.connect() as conn:
        challenge = (await conn.execute(text("SELECT * FROM binding_challenges"))).one()
        outbox = (await conn.execute(text("SELECT payload::text FROM outbox_events"))).scalars()
        params = (await conn.execute(text("SELECT params::text FROM notifications"))).scalar()
    assert code not in repr(tuple(challenge))
    assert code.encode() not in bytes(challenge.code_hash)
    assert challenge.code_key.startswith("sealed:v1:")  # the hash's key, sealed at rest
    assert all(code not in payload for payload in outbox)
    assert params is not None and code not in params


async def test_the_mode_is_listed_and_changed_only_with_a_reason(
    wechat: ChannelClient, account: None, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    async with engine.begin() as conn:
        with pytest.raises(DomainError, match="--reason"):
            await billers_service.update_biller(
                conn, clock, "BJWATER", verification=Verification.SMS, actor="test"
            )
    await set_mode(engine, clock, hub, Verification.SMS)
    listed = (await wechat.call("GET", "/v1/billers")).json()["billers"]
    assert [b["verification"] for b in listed] == ["sms"]
    async with engine.connect() as conn:
        audit = (
            await conn.execute(
                text("SELECT reason, before, after FROM audit_log WHERE action = 'biller.update'")
            )
        ).one()
    assert tuple(audit) == ("issue 14", {"verification": "none"}, {"verification": "sms"})
