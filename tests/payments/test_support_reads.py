"""What support staff read of a payer at every channel, or of an account: bindings,
auto-pay mandates and payments, through one owner filter; a bill run's record listed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.billruns.test_billing_run_support import WATER, add_usage, assign, open_accounts, spread
from tests.billruns.test_billing_run_support import run as run_billing
from tests.conftest import channel
from tests.conftest import water as water_of
from tests.console.payers import ACCOUNT, PAYER, make_water_payer
from tests.helpers import payment_body
from utilipay.autopay import mandates
from utilipay.billruns.queries import latest_runs
from utilipay.bindings.service import live_bindings
from utilipay.clock import FrozenClock
from utilipay.db.owners import Owner
from utilipay.errors import DomainError
from utilipay.payments import repository as payments
from utilipay_tools.client import ChannelClient


async def test_a_payer_at_every_channel_and_an_account(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    alipay: ChannelClient,
    world: dict[str, object],
) -> None:
    water = water_of(world)
    made = await make_water_payer(engine, clock, hub, wechat)
    body = payment_body("ALI-1", bill_nos=["B202610-0002"], amount=8800, payer=PAYER)
    assert (await alipay.call("POST", "/v1/payments", json=body)).status_code == 201
    payer, account = Owner(payer=PAYER), Owner(biller_id=water.id, account_no=ACCOUNT)
    nobody = Owner(payer="nobody")
    async with engine.connect() as conn:
        bound = await live_bindings(conn, hub.biller_code, payer)
        signed = await mandates.listed(conn, account)
        paid_by = await payments.listed(conn, payer)
        paid_to = await payments.listed(conn, account)
        found = await mandates.find_any(conn, made["mandate"]["id"])
        assert await mandates.listed(conn, nobody) == []
        with pytest.raises(DomainError):
            await mandates.find_any(conn, "M-none")
    assert [(b.biller, b.account_no) for _, b in bound] == [("BJWATER", ACCOUNT)]
    assert [m.id for m in signed] == [made["mandate"]["id"]] == [found.id]
    # at both channels, newest first
    assert [(p.channel_id, p.order_id) for p in paid_by] == [
        (channel(world, "alipay").id, "ALI-1"),
        (channel(world, "wechat").id, "WX20261122000123"),
    ]
    assert paid_to == paid_by


def test_an_owner_is_a_payer_or_a_whole_account() -> None:
    with pytest.raises(ValueError, match="whose rows"):
        Owner(biller_id=1)


async def test_bill_runs_are_listed_newest_first_for_the_utilities_asked(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    water = water_of(world)
    await assign(engine, clock, WATER, "BJ_WATER_RES")
    await open_accounts(engine, WATER, ACCOUNT)
    await add_usage(engine, WATER, ACCOUNT, spread("2026-10", 25))
    await run_billing(engine, clock, WATER, "2026-10")
    async with engine.connect() as conn:
        mine = await latest_runs(conn, {water.id})
        others = await latest_runs(conn, {water.id + 1})
    assert [(r.period, r.bills_issued, r.amount, r.as_of) for r in mine] == [
        ("2026-10", 1, 12500, date(2026, 11, 22))
    ]
    assert others == []
