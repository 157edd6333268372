"""``GET /v1/prepaid``: the balance and the settled days, for a payer who bound the account."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import ACCOUNT, bind_verified
from tests.prepaid.test_prepaid_accrual import NOV_1, power_account, top_up, use
from utilipay.clock import FrozenClock
from utilipay.prepaid.accrual import accrue_through
from utilipay_tools.client import ChannelClient

ASK = {"biller": "BJPOWER", "account": ACCOUNT, "payer": "landlord", "days": "2"}


async def test_a_bound_payer_sees_the_balance_and_the_days_others_see_nothing(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient,
    alipay: ChannelClient,
) -> None:  # fmt: skip
    await power_account(engine, clock, hub)
    await top_up(wechat, "TOPUP-1", 5000)
    for n in range(3):
        await use(engine, NOV_1 + timedelta(days=n), "8")
    await accrue_through(engine, clock, date(2026, 11, 3))

    unbound = await wechat.call("GET", "/v1/prepaid", params=ASK)
    assert (unbound.status_code, unbound.json()["code"]) == (403, "FORBIDDEN")
    await bind_verified(wechat, "landlord", "BJPOWER", ACCOUNT, "王五")
    seen = await wechat.call("GET", "/v1/prepaid", params=ASK)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert (body["balance"], body["state"], body["settled_through"]) == (
        5000 - 1172, "NORMAL", "2026-11-03"
    )  # fmt: skip
    assert body["holder"] != "王五"  # masked
    assert [(d["date"], d["usage"], d["charge"]) for d in body["days"]] == [
        ("2026-11-03", "8.000", 391), ("2026-11-02", "8.000", 390)
    ]  # fmt: skip
    other_channel = await alipay.call("GET", "/v1/prepaid", params=ASK)
    assert other_channel.status_code == 403  # the binding is the wechat payer's
    too_many = await wechat.call("GET", "/v1/prepaid", params=ASK | {"days": "93"})
    assert too_many.status_code in (400, 422)
    assert "code" in too_many.json()


async def test_an_unverified_binding_sees_no_balance(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await power_account(engine, clock, hub)
    await bind_verified(wechat, "tenant", "BJPOWER", ACCOUNT, "王五")  # another payer's
    plain = {"payer": "landlord", "biller": "BJPOWER", "account": ACCOUNT}
    assert (await wechat.call("POST", "/v1/bindings", json=plain)).json()["verified"] is False
    refused = await wechat.call("GET", "/v1/prepaid", params=ASK)
    assert (refused.status_code, refused.json()["code"]) == (403, "VERIFICATION_REQUIRED")
    assert "POST /v1/bindings" in refused.json()["detail"]
    await bind_verified(wechat, "landlord", "BJPOWER", ACCOUNT, "王五")  # the same, verified
    assert (await wechat.call("GET", "/v1/prepaid", params=ASK)).status_code == 200
