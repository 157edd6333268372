"""Settling a business day to utilities (清分结算): the figures, the books, once only."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import START
from tests.helpers import bill_line, import_bills, payment_body
from tests.ledger.test_ledger import corrupted
from tests.prepaid.test_prepaid_accrual import accrue, power_account, top_up, use
from tests.prepaid.test_prepaid_topup import books_hold, events
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError
from utilipay.ledger.service import balances
from utilipay.runtime.books import check_books
from utilipay.settlement import config, service
from utilipay.settlement import repository as repo
from utilipay.settlement.config import Mode, Party
from utilipay.settlement.fees import FeeRule
from utilipay_tools.client import ChannelClient

DAY = date(2026, 11, 22)  # START is 15:30 of it in Shanghai
NEXT_MORNING = datetime(2026, 11, 23, 2, tzinfo=UTC)  # 10:00 in Shanghai


async def settle(
    engine: AsyncEngine, clock: FrozenClock, day: date = DAY, biller: str | None = None
) -> dict[str, service.Outcome]:
    async with engine.begin() as conn:
        done = await service.settle_day(conn, clock, day, biller=biller, actor="test")
    return {o.payee: o for o in done}


def account_no(biller: str) -> str:
    return f"6222{zlib.crc32(biller.encode()):010d}"


async def account(
    engine: AsyncEngine, clock: FrozenClock, biller: str, mode: Mode = Mode.BRANCHES
) -> None:
    async with engine.begin() as conn:
        await config.set_account(
            conn, clock, biller, account_no=account_no(biller),
            account_name=f"{biller} 收款户", bank="中国工商银行北京分行", mode=mode, actor="test",
        )  # fmt: skip


async def fee(
    engine: AsyncEngine, clock: FrozenClock, party: Party, code: str, rate: str, **kw: int
) -> None:
    async with engine.begin() as conn:
        rule = FeeRule(date(2026, 1, 1), Decimal(rate), **kw)
        await config.set_fee_rule(conn, clock, party, code, rule, actor="test")


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text(sql), params))


async def book(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {b.code: b.balance for b in await balances(conn)}


async def refund(engine: AsyncEngine, order_id: str, amount: int, *, paid: bool = True) -> None:
    """A refund (contract 2) of a channel order, of its payment when ``paid``."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO refunds (biller_id, id, payment_id, channel_id, order_id, amount,"
                " reason, status, created_at, business_date)"
                " SELECT p.biller_id, 'F' || :o, CASE WHEN :paid THEN p.id END, p.channel_id,"
                " p.order_id, :amount, 'channel refunded the payer', 'OPEN', :at, :day"
                " FROM payments p WHERE p.order_id = :o"
            ),
            {"o": order_id, "amount": amount, "paid": paid, "at": START, "day": DAY},
        )


@pytest.fixture
async def day_paid(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient, alipay: ChannelClient
) -> int:
    """On DAY: two water bill payments (12345 by WECHAT, 1000 by ALIPAY), a power top-up of
    5000 and the power used the day before, settled (accrued) that day. Returns the
    accrual posted."""
    await import_bills(
        engine, clock, bill_line("B1"), bill_line("B2", amount=700), bill_line("B3", amount=300)
    )
    r = await wechat.call("POST", "/v1/payments", json=payment_body("WX-1", bill_nos=["B1"]))
    assert r.status_code == 201, r.text
    body = payment_body("ALI-1", bill_nos=["B2", "B3"], amount=1000)
    assert (await alipay.call("POST", "/v1/payments", json=body)).status_code == 201
    await power_account(engine, clock, hub, start=date(2026, 11, 21))
    await top_up(wechat, "TOPUP-1", 5000)
    await use(engine, date(2026, 11, 21), "10")
    await accrue(engine, date(2026, 11, 21), clock)
    (posted,) = await rows(engine, "SELECT sum(posted) AS s FROM prepaid_accruals")
    clock.set(NEXT_MORNING)
    return int(posted.s)


async def test_a_day_settles_each_utility_once_net_of_its_service_fee(
    engine: AsyncEngine, clock: FrozenClock, day_paid: int
) -> None:
    await account(engine, clock, "BJWATER")
    await account(engine, clock, "BJPOWER")
    await fee(engine, clock, Party.BILLER, "BJWATER", "60", minimum=10, maximum=500)
    await fee(engine, clock, Party.CHANNEL, "WECHAT", "30")
    done = await settle(engine, clock)
    assert {p: o.status for p, o in done.items()} == {"BJPOWER": "SETTLED", "BJWATER": "SETTLED"}

    (water,) = done["BJWATER"].lines
    assert (water.bills, water.bill_count, water.accruals, water.refunds) == (13345, 2, 0, 0)
    assert water.fees == 74 + 10  # 0.6% of 123.45; of 10.00 it is 0.06, below the minimum
    assert water.channel_fees == 37  # WECHAT's 0.3% of 123.45: the hub's cost, not deducted
    assert water.net == 13345 - 84
    (power,) = done["BJPOWER"].lines
    assert day_paid == 488  # 10 kWh at 0.4883
    # the top-up is held for the utility: shown; what was used of it is paid
    assert (power.topups, power.topup_count, power.accruals) == (5000, 1, 488)
    assert (power.gross, power.fees, power.net, power.channel_fees) == (488, 0, 488, 15)

    payouts = await rows(engine, "SELECT reference, amount, status FROM payouts ORDER BY 1")
    assert [tuple(p) for p in payouts] == [
        ("STL-BJPOWER-20261122", 488, "PENDING"),
        ("STL-BJWATER-20261122", 13261, "PENDING"),
    ]
    found = await book(engine)
    assert found["BILLER_PAYABLE:BJWATER:CNY"] == 0
    assert found["BILLER_PAYABLE:BJPOWER:CNY"] == 0
    assert found["BILLER_SETTLED:BJWATER:CNY"] == -13261
    assert found["BILLER_SETTLED:BJPOWER:CNY"] == -488
    assert found["HUB_FEE_INCOME:BJWATER:CNY"] == -84
    assert sum(found.values()) == 0
    await books_hold(engine)
    assert len(await events(engine, "settlement.settled")) == 2

    # running the day again changes nothing
    before = await rows(engine, "SELECT count(*) AS n FROM journal_entries")
    again = await settle(engine, clock)
    assert {p: o.status for p, o in again.items()} == {"BJPOWER": "UNCHANGED",
                                                       "BJWATER": "UNCHANGED"}  # fmt: skip
    assert await rows(engine, "SELECT count(*) AS n FROM journal_entries") == before
    assert len(await events(engine, "settlement.settled")) == 2
    await books_hold(engine)


async def test_a_day_not_over_is_refused_and_a_payee_without_an_account_waits(
    engine: AsyncEngine, clock: FrozenClock, day_paid: int
) -> None:
    with pytest.raises(DomainError, match="not over yet"):
        await settle(engine, clock, date(2026, 11, 23))
    await account(engine, clock, "BJWATER")
    done = await settle(engine, clock)
    assert done["BJPOWER"].status == "NO_ACCOUNT"
    assert done["BJPOWER"].differences == ["BJPOWER has no settlement account"]
    assert done["BJWATER"].status == "SETTLED"
    assert (await book(engine))["BILLER_PAYABLE:BJPOWER:CNY"] == -488  # still owed
    await books_hold(engine)
    await account(engine, clock, "BJPOWER")
    assert (await settle(engine, clock, biller="BJPOWER"))["BJPOWER"].status == "SETTLED"
    await books_hold(engine)


async def test_refunds_of_paid_payments_lower_the_net_and_a_late_one_is_a_difference(
    engine: AsyncEngine, clock: FrozenClock, day_paid: int
) -> None:
    await account(engine, clock, "BJWATER")
    await refund(engine, "ALI-1", 1000)
    await refund(engine, "TOPUP-1", 300, paid=False)  # a payment the hub failed: not theirs
    done = await settle(engine, clock, biller="BJWATER")
    assert list(done) == ["BJWATER"]
    (water,) = done["BJWATER"].lines
    assert (water.gross, water.refunds, water.fees, water.net) == (13345, 1000, 0, 12345)
    found = await book(engine)
    assert found["REFUND_PAYABLE:ALIPAY:CNY"] == -1000  # owed back through ALIPAY
    assert found["BILLER_SETTLED:BJWATER:CNY"] == -12345
    await books_hold(engine)

    await refund(engine, "WX-1", 12345)  # recorded after the day was settled
    again = await settle(engine, clock, biller="BJWATER")
    assert again["BJWATER"].status == "DIFFERS"
    assert again["BJWATER"].differences == [
        "BJWATER refunds: settled 1000, now 13345",
        "BJWATER net: settled 12345, now 0",
    ]
    (payout,) = await rows(engine, "SELECT amount FROM payouts")
    assert payout.amount == 12345  # nothing rewritten
    await books_hold(engine)


# What ``check`` proves of a settled day, each broken behind the services' back.
SETTLED_DAY_CORRUPTIONS = {
    "prepaid_balances_match_ledger": "UPDATE prepaid_accounts SET balance = balance + 1",
    "accruals_are_booked": "UPDATE prepaid_accruals SET posted = posted + 1",
    "settlements_are_booked": (
        "UPDATE settlement_lines SET bills = bills + 1, gross = gross + 1, net = net + 1"
    ),
    "settled_accounts_match_settlements": "UPDATE settlements SET net = net - 1, fees = fees + 1",
}


@pytest.mark.parametrize("name", sorted(SETTLED_DAY_CORRUPTIONS))
async def test_check_finds_each_kind_of_corruption_of_a_settled_day(
    engine: AsyncEngine, clock: FrozenClock, day_paid: int, name: str
) -> None:
    await account(engine, clock, "BJWATER")
    await account(engine, clock, "BJPOWER")
    await settle(engine, clock)
    await books_hold(engine)
    found = await corrupted(engine, [SETTLED_DAY_CORRUPTIONS[name]])
    assert name in found, found
    assert all(found[name])


WATER_BILLS = "biller,account,holder,bill_no,period,amount,late_fee,due_date\n"


@pytest.fixture
async def group(engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient) -> None:
    """A water group SZWATER with two branches, each paid a bill on DAY."""
    async with engine.begin() as conn:
        for code, name, parent in (("SZWATER", "深圳水务集团", None),
                                   ("SZWATER_FT", "深圳水务福田分公司", "SZWATER"),
                                   ("SZWATER_NS", "深圳水务南山分公司", "SZWATER")):  # fmt: skip
            await billers_service.add_biller(
                conn, clock, code=code, name=name,
                category=Category.WATER, mode=IntegrationMode.HOSTED,
                account_rule=r"(0[1-9]|25)[0-9]{8}", region="440300", parent_code=parent,
                actor="test",
            )  # fmt: skip
    await hub.directory.reload()
    for n, (branch, amount) in enumerate((("SZWATER_FT", 20000), ("SZWATER_NS", 5050)), 1):
        line = f"{branch},010000000{n},李四,{branch}-B{n},2026-10,{amount},0,2026-11-30"
        await import_bills(engine, clock, line)
        body = payment_body(f"WX-SZ-{n}", biller=branch, account=f"010000000{n}",
                            amount=amount, bill_nos=[f"{branch}-B{n}"])  # fmt: skip
        r = await wechat.call("POST", "/v1/payments", json=body)
        assert r.status_code == 201, r.text
    await fee(engine, clock, Party.BILLER, "SZWATER", "100")  # the group's rule: 1%
    clock.set(NEXT_MORNING)


async def test_a_group_that_sweeps_is_paid_once_with_a_line_per_branch(
    engine: AsyncEngine, clock: FrozenClock, group: None
) -> None:
    await account(engine, clock, "SZWATER", Mode.GROUP)
    done = await settle(engine, clock, biller="SZWATER_NS")  # a branch: its whole group
    assert list(done) == ["SZWATER"]
    ft, ns = done["SZWATER"].lines
    assert (ft.branch.code, ft.gross, ft.fees, ft.net) == ("SZWATER_FT", 20000, 200, 19800)
    assert (ns.branch.code, ns.gross, ns.fees, ns.net) == ("SZWATER_NS", 5050, 51, 4999)  # 50.5
    (payout,) = await rows(engine, "SELECT reference, amount FROM payouts")
    assert tuple(payout) == ("STL-SZWATER-20261122", 24799)
    found = await book(engine)
    assert found["BILLER_PAYABLE:SZWATER_FT:CNY"] == found["BILLER_PAYABLE:SZWATER_NS:CNY"] == 0
    assert found["BILLER_SETTLED:SZWATER:CNY"] == -24799
    assert "BILLER_SETTLED:SZWATER_FT:CNY" not in found
    await books_hold(engine)
    async with engine.connect() as conn:  # a branch's day is in its group's settlement
        assert [s["payee"] for s in await service.show_day(conn, DAY, biller="SZWATER_FT")] == [
            "SZWATER"
        ]
    shown = await _show(engine, "SZWATER")
    assert [(line["branch"], line["net"]) for line in shown["lines"]] == [
        ("SZWATER_FT", 19800), ("SZWATER_NS", 4999)
    ]  # fmt: skip


async def test_a_group_that_settles_to_branches_pays_each_and_cannot_sweep_the_day_later(
    engine: AsyncEngine, clock: FrozenClock, group: None
) -> None:
    await account(engine, clock, "SZWATER", Mode.BRANCHES)
    for branch in ("SZWATER_FT", "SZWATER_NS"):
        await account(engine, clock, branch)
    done = await settle(engine, clock, biller="SZWATER")  # the group: each of its branches
    assert {p: (o.status, o.total("net")) for p, o in done.items()} == {
        "SZWATER_FT": ("SETTLED", 19800),
        "SZWATER_NS": ("SETTLED", 4999),
    }
    payouts = await rows(engine, "SELECT reference, amount FROM payouts ORDER BY 1")
    assert [tuple(p) for p in payouts] == [
        ("STL-SZWATER_FT-20261122", 19800), ("STL-SZWATER_NS-20261122", 4999)
    ]  # fmt: skip
    await books_hold(engine)

    await account(engine, clock, "SZWATER", Mode.GROUP)  # the group now sweeps
    again = await settle(engine, clock, biller="SZWATER")
    assert again["SZWATER"].status == "DIFFERS"
    assert again["SZWATER"].differences == [
        "SZWATER_FT's 2026-11-22 is already settled to SZWATER_FT",
        "SZWATER_NS's 2026-11-22 is already settled to SZWATER_NS",
    ]
    assert len(await rows(engine, "SELECT 1 FROM settlements")) == 2
    await books_hold(engine)
    async with engine.connect() as conn:  # the group's day, as it was settled
        shown = await service.show_day(conn, DAY, biller="SZWATER")
    assert [(s["payee"], s["net"]) for s in shown] == [("SZWATER_FT", 19800), ("SZWATER_NS", 4999)]


async def _show(engine: AsyncEngine, payee: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        return await service.one_settlement(conn, DAY, payee)


async def test_a_branch_day_settled_to_one_payee_is_refused_to_another_by_the_database(
    engine: AsyncEngine, clock: FrozenClock, group: None
) -> None:
    """Behind the "already settled" difference, for two settlements of one day racing: the
    branch's day is taken once (settlement_branch_days), whichever payee comes second; and
    ``utilipay check`` finds a line whose day is not taken."""
    await account(engine, clock, "SZWATER_FT")
    await settle(engine, clock, biller="SZWATER_FT")
    async with engine.connect() as conn:
        payees = {r.code: r.id for r in await conn.execute(text("SELECT code, id FROM billers"))}
        written = await repo.stored(conn, payees["SZWATER_FT"], DAY)
    assert written is not None
    head = {k: v for k, v in written.items() if k not in {"lines", "payout"}}
    swept = {**head, "biller_id": payees["SZWATER"]}
    lines = [{**line, "biller_id": payees["SZWATER"]} for line in written["lines"].values()]
    with pytest.raises(IntegrityError, match="settlement_branch_days_pkey"):
        async with engine.begin() as conn:
            await repo.write(conn, swept, lines)
    await books_hold(engine)
    async with engine.begin() as conn:  # the day's row lost: the check says so
        await conn.execute(text("DELETE FROM settlement_branch_days"))
    async with engine.connect() as conn:
        found = {r.check.name: r.violations for r in await check_books(conn) if not r.passed}
    assert found == {
        "branch_days_settled_once": [
            f"branch {payees['SZWATER_FT']} on {DAY}: its line is in the settlement of"
            f" {payees['SZWATER_FT']}, taken for nobody"
        ]
    }
