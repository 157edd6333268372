"""A payer's world for the accounts and look-up pages, made through the areas' own services
and API as their tests make it: BJWATER bills, a binding, an auto-pay mandate, a paid bill
with its receipt queued, and BJPOWER (another utility) with a prepaid account and usage."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.autopay.test_autopay import sign
from tests.helpers import ACCOUNT, bill_line, import_bills, payment_body
from tests.notify.test_notify_support import NOWHERE, dispatch, point_at
from tests.prepaid.test_prepaid_accrual import power_account, top_up, use
from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient

PAYER = "wx-openid-abc"


async def audited(engine: AsyncEngine, action: str) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM audit_log WHERE action = :a ORDER BY id"), {"a": action}
        )
        return list(rows)


async def make_water_payer(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> dict[str, Any]:
    """BJWATER's ACCOUNT owes B202610-0002 (88.00), paid B202610-0001 (123.45) through
    WECHAT by PAYER, who bound it and signed auto-pay; the receipt is queued."""
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    async with engine.begin() as conn:
        await channels_service.update_channel(conn, clock, "WECHAT", debit_url=NOWHERE, actor="t")
    await hub.directory.reload()
    await import_bills(engine, clock, bill_line("B202610-0001"))
    clock.advance(timedelta(minutes=5))
    paid = await wechat.call("POST", "/v1/payments", json=payment_body())
    assert paid.status_code == 201, paid.text
    mandate = await sign(wechat, payer=PAYER)
    await import_bills(engine, clock, bill_line("B202610-0002", amount=8800))
    await dispatch(engine, clock, hub)
    return {"payment": paid.json(), "mandate": mandate}


async def make_power_prepaid(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    """BJPOWER's ACCOUNT, prepaid from November with 300.00 on it and 8 kWh a day read."""
    await power_account(engine, clock, hub)
    await top_up(wechat, "TOPUP-1", 30000)
    for n in range(20):
        await use(engine, date(2026, 11, 1) + timedelta(days=n), "8")


@pytest.fixture
async def water_payer(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> dict[str, Any]:
    return await make_water_payer(engine, clock, hub, wechat)


@pytest.fixture
async def power_prepaid(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await make_power_prepaid(engine, clock, hub, wechat)


__all__ = ["ACCOUNT", "PAYER", "audited", "power_prepaid", "water_payer"]
