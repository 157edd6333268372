"""Auto-pay needs a verified binding of the payer at the channel (channel-api.md §13)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.autopay.test_autopay import SOURCES, bind, sign
from tests.helpers import ACCOUNT, bill_line, import_bills
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient

PLAIN = {"payer": "wx-payer", "biller": "BJWATER", "account": ACCOUNT}


def needs_verification(r: Any) -> None:
    assert (r.status_code, r.json()["code"]) == (403, "VERIFICATION_REQUIRED"), r.text


async def test_a_mandate_is_signed_only_through_a_verified_binding(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await import_bills(engine, clock, bill_line("B0"))
    await bind(wechat, "someone-else")  # another payer's verified binding does not help
    assert (await wechat.call("POST", "/v1/bindings", json=PLAIN)).status_code == 201
    body = PLAIN | {"funding_sources": SOURCES}
    needs_verification(await wechat.call("POST", "/v1/mandates", json=body))
    assert (await sign(wechat))["status"] == "ACTIVE"  # verified by the holder's name


async def test_a_mandate_whose_binding_is_unverified_again_is_out_of_reach(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await import_bills(engine, clock, bill_line("B0"))
    mandate = await sign(wechat)
    path = f"/v1/mandates/{mandate['id']}"
    binding = (await wechat.call("GET", "/v1/bindings", params={"payer": "wx-payer"})).json()
    (bound,) = binding["bindings"]
    assert (await wechat.call("DELETE", f"/v1/bindings/{bound['id']}")).status_code == 204
    assert (await wechat.call("GET", path)).status_code == 200  # no binding: as before §13
    assert (await wechat.call("POST", "/v1/bindings", json=PLAIN)).json()["verified"] is False
    needs_verification(await wechat.call("GET", path))
    needs_verification(await wechat.call("GET", f"{path}/debits"))
    needs_verification(await wechat.call("PATCH", path, json={"cap": 50000}))
    needs_verification(await wechat.call("DELETE", path))
    await bind(wechat, "wx-payer")  # verified again
    assert (await wechat.call("PATCH", path, json={"cap": 50000})).json()["cap"] == 50000
    assert (await wechat.call("DELETE", path)).json()["status"] == "CANCELLED"
