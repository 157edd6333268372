"""The channel mix and the prepaid report on real payments: a utility's counter and an
agent's shop paying at their terminals, a POS channel, a voucher redeemed through the
channel API; a terminal void counted off on its day, and a remote utility's void resolved
after midnight counted off on the day after; a prepaid account enrolled, topped up, warned
and cut."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.collection.test_reports import DAY, report, table
from tests.conftest import channel
from tests.helpers import bill_line, import_bills, payment_body
from tests.outlets.conftest import Shop, void_shop  # noqa: F401 (a fixture)
from tests.outlets.test_remote_voids import BODY as REMOTE_BODY
from tests.outlets.void_fixtures import Outlet, remote_terminal_payment
from tests.prepaid.test_prepaid_accrual import NOV_1, power_account, top_up, use
from tests.utility import Utility
from tests.vouchers.conftest import Batch, sold  # noqa: F401 (a fixture)
from tests.vouchers.test_redeem import redeem
from utilipay.channels import service as channels_service
from utilipay.channels.schemas import ChannelKind
from utilipay.clock import FrozenClock
from utilipay.collection import days
from utilipay.collection.activity import PREPAID_ACTIVITY
from utilipay.collection.schemas import ReportName
from utilipay.collection.sums import mean_days
from utilipay.headend.config import configure
from utilipay.headend.consumers import meter_command_consumers
from utilipay.outbox.dispatch import Dispatcher
from utilipay.payments import voids
from utilipay.prepaid.accrual import accrue_through
from utilipay.prepaid.cuts import cut_due
from utilipay.web.hub import Hub
from utilipay_tools.client import ChannelClient

POS_SECRET = "pos-secret-0123456789abcdef0123456789"


async def mix(
    engine: AsyncEngine, clock: FrozenClock, first: date, last: date
) -> dict[object, tuple[object, object]]:
    """The channel mix's classes: (payments, amount)."""
    found = await report(engine, clock, ReportName.CHANNEL_MIX, first, last)
    return {r["class"]: (r["count"], r["amount"]) for r in table(found)}


async def pos_channel(engine: AsyncEngine, clock: FrozenClock, hub: Hub,
                      http: httpx.AsyncClient) -> ChannelClient:  # fmt: skip
    async with engine.begin() as conn:
        await channels_service.add_channel(conn, clock, code="UNIONPOS", secret=POS_SECRET,
                                           kind=ChannelKind.POS, actor="test")  # fmt: skip
    await hub.directory.reload()
    return ChannelClient(http, "UNIONPOS", POS_SECRET, clock)


async def test_counter_agent_pos_voucher_and_a_void_on_the_day(
    engine: AsyncEngine,
    clock: FrozenClock,
    world: dict[str, object],
    hub: Hub,
    http: httpx.AsyncClient,
    wechat: ChannelClient,
    sold: Batch,  # noqa: F811
) -> None:
    accounts = {"C": "0200000001", "S": "0200000002", "P": "0200000003"}
    await import_bills(
        engine, clock, bill_line("V1", amount=10_000),
        *(bill_line(f"{k}1", a, 1_000 * (n + 1)) for n, (k, a) in enumerate(accounts.items())),
    )  # fmt: skip
    agent = channel(world, "wechat")  # a wallet that runs outlets too
    counter = await Shop(engine, clock, http, hub.directory, agent).open(kind="counter",
                                                                         code="CTR1")  # fmt: skip
    shop = await Shop(engine, clock, http, hub.directory, agent).open(code="SHOP1")
    for outlet in (counter, shop):
        await outlet.deposit(50_000)
        await outlet.operator("OP1")
    clock.advance(timedelta(minutes=1))  # the shifts opened when the operators were added
    for outlet, key, amount in ((counter, "C", 1_000), (shop, "S", 2_000)):
        body = payment_body(f"T{key}", account=accounts[key], bill_nos=[f"{key}1"],
                            amount=amount, operator="OP1")  # fmt: skip
        paid = await outlet.client().call("POST", "/v1/payments", json=body)
        assert paid.status_code == 201, paid.text
    shop_payment = paid.json()["id"]
    pos = await pos_channel(engine, clock, hub, http)
    body = payment_body("P1", account=accounts["P"], bill_nos=["P1"], amount=3_000)
    assert (await pos.call("POST", "/v1/payments", json=body)).status_code == 201
    assert (await redeem(wechat, "VO1", sold.pin(0))).status_code == 201

    on_the_day = await mix(engine, clock, DAY, DAY)
    assert {k: v for k, v in on_the_day.items() if v[0]} == {
        "Counter": (1, 1_000), "Agent outlet": (1, 2_000), "POS": (1, 3_000),
        "Voucher": (1, 10_000),
    }  # fmt: skip

    clock.advance(timedelta(hours=1))  # a terminal voids on the day it took the payment only
    voided = await shop.client().call("POST", f"/v1/payments/{shop_payment}/void",
                                      json={"operator": "OP1", "reason": "wrong bill"})  # fmt: skip
    assert voided.status_code == 200, voided.text
    after = await mix(engine, clock, DAY, DAY)
    assert after == {**on_the_day, "Agent outlet": (0, 0)}  # counted, then counted off
    clock.advance(timedelta(days=1))
    await days.close(engine, clock)
    assert await mix(engine, clock, DAY, DAY) == after  # as the closed day keeps it


async def test_a_prepaid_account_topped_up_warned_and_cut(
    engine: AsyncEngine, clock: FrozenClock, hub: Hub, wechat: ChannelClient
) -> None:
    await power_account(engine, clock, hub)
    async with engine.begin() as conn:  # a head end switches the meter (never called here)
        await configure(conn, clock, "BJPOWER", url="http://127.0.0.1:9/headend",
                        secret=POS_SECRET, actor="test")  # fmt: skip
    await top_up(wechat, "TOPUP-1", 3000)  # 30 yuan on 22 November
    for n in range(7):
        await use(engine, NOV_1 + timedelta(days=n), "10")  # 4.883 yuan a day
    warned = clock.now()
    await accrue_through(engine, clock, date(2026, 11, 7))  # LOW, then ARREARS: warned
    cut_at = datetime(2026, 11, 30, 2, tzinfo=UTC)  # Monday 10:00 in Shanghai
    clock.set(cut_at)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE prepaid_accounts SET state_since = :t"), {"t": warned})
        assert await cut_due(conn, clock.now()) == 1
    # the worker's dispatch turns the cut into the meter's disconnect command
    assert await Dispatcher(meter_command_consumers()).dispatch_pending(engine, clock) > 0
    end = date(2026, 11, 30)
    found = await report(engine, clock, ReportName.PREPAID, DAY, end)
    assert table(found, "states") == [{"state": "CUT", "accounts": 1}]
    seconds = int((cut_at - warned).total_seconds())
    assert table(found, "activity") == [
        {"what": "Top-ups", "count": 1, "amount": 3000, "mean_days": None},
        {"what": PREPAID_ACTIVITY["cut"], "count": 1, "amount": None,
         "mean_days": mean_days(seconds, 1)},
        {"what": PREPAID_ACTIVITY["reconnect"], "count": 0, "amount": None, "mean_days": None},
    ]  # fmt: skip
    mix = {r["class"]: (r["count"], r["amount"]) for r in table(
        await report(engine, clock, ReportName.CHANNEL_MIX, DAY, end))}  # fmt: skip
    assert mix["Prepaid top-up"] == (1, 3000)
    clock.advance(timedelta(days=1))
    await days.close(engine, clock)  # the states kept as the close took them: the cut stays
    assert (await report(engine, clock, ReportName.PREPAID, DAY, end)).tables == found.tables


async def test_a_void_resolved_the_next_day_counts_off_on_that_day(
    hub: Hub,
    engine: AsyncEngine,
    clock: FrozenClock,
    wechat: ChannelClient,
    utility: Utility,
    void_shop: Outlet,  # noqa: F811
) -> None:
    """A remote utility's terminal payment voided at 23:59 with no answer: the refund is
    asked again after midnight and the payment counts off on the day it was voided."""
    clock.set(datetime(2026, 11, 22, 15, 58, tzinfo=UTC))  # 23:58 in Shanghai
    paid = await remote_terminal_payment(wechat, engine, clock, void_shop, utility.biller.id,
                                         REMOTE_BODY)  # fmt: skip
    clock.advance(timedelta(minutes=1))
    utility.fail_with("error=1")  # 9999: nothing done
    request = voids.VoidRequest(void_shop.id, paid, "OP1", "wrong account")
    resolve = (hub.remote_billers, hub.directory.biller_by_id)
    assert (await voids.void(engine, clock, *resolve, request)).pending
    utility.fail_with("")
    clock.set(max(clock.now() + timedelta(minutes=2), await next_check(engine, paid)))
    await voids.resolve_due_voids(engine, clock, *resolve)
    day_after = DAY + timedelta(days=1)
    assert (await mix(engine, clock, DAY, DAY))["Agent outlet"] == (1, 4250)
    assert (await mix(engine, clock, day_after, day_after))["Agent outlet"] == (-1, -4250)
    both = await report(engine, clock, ReportName.CHANNEL_MIX, DAY, day_after)
    assert {r["class"]: (r["count"], r["amount"]) for r in table(both)}["Agent outlet"] == (0, 0)
    assert (both.notes, both.charts) == ((), ())  # netted out, yet not a period without figures


async def next_check(engine: AsyncEngine, payment_id: str) -> datetime:
    async with engine.connect() as conn:
        found = await conn.scalar(text("SELECT next_check_at FROM payments WHERE id = :p"),
                                  {"p": payment_id})  # fmt: skip
    assert isinstance(found, datetime)
    return found
