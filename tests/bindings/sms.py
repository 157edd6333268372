"""Verifying a binding as a payer does: a utility's mode set, a phone on record; ask for a
code, read it from the SMS the hub queued for the phone on record, give it back."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.notify.test_notify_support import dispatch
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Verification
from utilipay.billing.contacts import set_contacts
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient

PHONE = "13800138000"


async def set_mode(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, mode: Verification, biller: str = "BJWATER"
) -> None:
    """The utility's verification mode, as ``utilipay billers update --verification`` sets it."""
    async with engine.begin() as conn:
        await billers_service.update_biller(
            conn, clock, biller, verification=mode, actor="test", reason="issue 14"
        )
    await hub.directory.reload()


async def give_phone(
    engine: AsyncEngine, clock: FrozenClock, biller: str, account: str, phone: str = PHONE
) -> None:
    async with engine.begin() as conn:
        await set_contacts(conn, clock, biller, account, phone=phone, actor="test")


async def texted_code(engine: AsyncEngine, clock: FrozenClock, hub: Any) -> str:
    """The code of the newest binding SMS, once the outbox has been dispatched."""
    await dispatch(engine, clock, hub)
    async with engine.connect() as conn:
        sms = (
            await conn.execute(
                text(
                    "SELECT text FROM notifications WHERE template = 'binding.code'"
                    " ORDER BY created_at DESC, id DESC LIMIT 1"
                )
            )
        ).scalar_one()
    found = re.search(r"[0-9]{6}", sms[next(iter(sms))])
    assert found is not None, sms
    return found.group()


async def ask_code(client: ChannelClient, payer: str, biller: str, account: str) -> Any:
    body = {"payer": payer, "biller": biller, "account": account}
    return await client.call("POST", "/v1/bindings/challenges", json=body)


async def bind_by_sms(
    client: ChannelClient, engine: AsyncEngine, clock: FrozenClock, hub: Any,
    payer: str, biller: str, account: str,
) -> dict[str, Any]:  # fmt: skip
    asked = await ask_code(client, payer, biller, account)
    assert asked.status_code == 201, asked.text
    code = await texted_code(engine, clock, hub)
    body = {"payer": payer, "biller": biller, "account": account,
            "verification": {"sms_code": code}}  # fmt: skip
    r = await client.call("POST", "/v1/bindings", json=body)
    assert r.status_code in {200, 201}, r.text
    found: dict[str, Any] = r.json()
    return found
