"""``GET /v1/prepaid/statements`` (channel-api.md §13): an issued month's statement, to a
payer who has bound the account at this channel."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import ACCOUNT, bind_verified
from tests.prepaid.test_prepaid_accrual import power_account, top_up, use
from utilipay.clock import FrozenClock
from utilipay.prepaid.accrual import accrue_through
from utilipay.prepaid.statements import issue_statements
from utilipay_tools.client import ChannelClient

PAYER = "wx-landlord"
POWER_HOLDER = "王五"  # power_account's holder, whose name verifies a binding


def path(month: str, payer: str | None = PAYER) -> str:
    query = f"/v1/prepaid/statements?biller=BJPOWER&account={ACCOUNT}&month={month}"
    return query if payer is None else f"{query}&payer={payer}"


async def settled_october_and_november(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    """Prepaid from Oct 30, topped up twice on Nov 22, 8 kWh a day, settled through Nov 30,
    the statements of October and November issued."""
    await power_account(engine, clock, hub, start=date(2026, 10, 30))
    await top_up(wechat, "TOPUP-1", 20000)
    await top_up(wechat, "TOPUP-2", 5000)
    for n in range(32):  # Oct 30 to Nov 30
        await use(engine, date(2026, 10, 30) + timedelta(days=n), "8")
    await accrue_through(engine, clock, date(2026, 11, 30))
    async with engine.begin() as conn:
        assert await issue_statements(conn, date(2026, 10, 1), clock.now()) == 1
        assert await issue_statements(conn, date(2026, 11, 1), clock.now()) == 1


async def stored(engine: AsyncEngine, month: date) -> Any:
    async with engine.connect() as conn:
        query = text("SELECT * FROM prepaid_statements WHERE month = :m")
        return (await conn.execute(query, {"m": month})).one()


async def test_a_settled_month_is_the_stored_statement_with_its_lines(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await settled_october_and_november(engine, clock, hub, wechat)
    await bind_verified(wechat, PAYER, "BJPOWER", ACCOUNT, POWER_HOLDER)
    r = await wechat.call("GET", path("2026-11"))
    assert r.status_code == 200, r.text
    got = r.json()
    row = await stored(engine, date(2026, 11, 1))
    assert (got["opening"], got["top_ups_total"], got["charges"], got["closing"]) == (
        row.opening_balance, row.top_ups, row.charges, row.closing_balance
    )  # fmt: skip
    assert got["closing"] == got["opening"] + got["top_ups_total"] - got["charges"]
    assert (got["month"], got["currency"], got["usage"]) == ("2026-11", "CNY", str(row.usage))
    assert [(t["date"], t["amount"]) for t in got["top_ups"]] == [
        ("2026-11-22", 20000), ("2026-11-22", 5000)
    ]  # fmt: skip
    days = got["days"]
    assert [d["date"] for d in days] == [f"2026-11-{n:02}" for n in range(1, 31)]
    assert sum(d["charge"] for d in days) == got["charges"]
    assert days[-1]["balance"] == got["closing"]
    assert {d["usage"] for d in days} == {"8.000"}

    october = (await wechat.call("GET", path("2026-10"))).json()
    assert october["closing"] == got["opening"] and october["top_ups"] == []
    assert len(october["days"]) == 2  # prepaid from Oct 30


async def test_a_month_not_issued_is_404_with_why(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await settled_october_and_november(engine, clock, hub, wechat)
    await bind_verified(wechat, PAYER, "BJPOWER", ACCOUNT, POWER_HOLDER)
    for month in ("2026-12", "2026-09"):  # not settled yet; before the account was prepaid
        r = await wechat.call("GET", path(month))
        assert (r.status_code, r.json()["code"]) == (404, "NOT_FOUND")
        assert f"no statement of {month}" in r.json()["detail"]


async def test_a_statement_needs_the_payers_binding_at_this_channel(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    alipay: ChannelClient,
) -> None:
    await settled_october_and_november(engine, clock, hub, wechat)
    # the same payer id, at another channel
    await bind_verified(alipay, PAYER, "BJPOWER", ACCOUNT, POWER_HOLDER)
    await bind_verified(wechat, "wx-someone-else", "BJPOWER", ACCOUNT, POWER_HOLDER)
    r = await wechat.call("GET", path("2026-11"))
    assert (r.status_code, r.json()["code"]) == (403, "FORBIDDEN")
    assert (await alipay.call("GET", path("2026-11"))).status_code == 200


async def test_payer_and_a_well_formed_month_are_required(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await settled_october_and_november(engine, clock, hub, wechat)
    await bind_verified(wechat, PAYER, "BJPOWER", ACCOUNT, POWER_HOLDER)
    for bad in (path("2026-11", payer=None), path("2026-13"), path("2026-1"), path("2026-11-01")):
        r = await wechat.call("GET", bad)
        assert (r.status_code, r.json()["code"]) == (400, "MALFORMED_REQUEST"), bad
