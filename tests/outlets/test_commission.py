"""What outlets earn and what they are told: the commission a utility pays per payment an
outlet collects (credited to its float by the day's settlement, deducted from the
utility's net), the outlet's daily statement, and the per-outlet figures."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.helpers import ACCOUNT, bill_line, import_bills, payment_body
from tests.outlets.conftest import Shop
from tests.outlets.test_outlets_cli import cli, invoke  # noqa: F401 - the fixture
from tests.settlement.test_settlement import DAY, NEXT_MORNING, account, rows, settle
from utilipay.clock import FrozenClock
from utilipay.outlets import figures, statements
from utilipay.outlets.figures import Grouping
from utilipay.outlets.schemas import OutletKind
from utilipay.runtime.books import check_books
from utilipay.settlement import config
from utilipay.settlement.fees import FeeRule


@pytest.fixture
async def bills(engine: AsyncEngine, clock: FrozenClock, world: Any) -> None:
    await import_bills(
        engine,
        clock,
        bill_line("B1", amount=12345),
        bill_line("B2", account="2598765432", amount=5000, holder="李四"),
        bill_line("B3", account="2500000003", amount=80, holder="王五"),
    )


async def commission(
    engine: AsyncEngine, clock: FrozenClock, kind: OutletKind, rule: FeeRule
) -> None:
    async with engine.begin() as conn:
        await config.set_commission_rule(conn, clock, "BJWATER", kind, rule, actor="test")


async def pay_three(shop: Shop) -> None:
    client = shop.client()
    for order, account_no, amount, bill in (
        ("T1", ACCOUNT, 12345, "B1"),
        ("T2", "2598765432", 5000, "B2"),
        ("T3", "2500000003", 80, "B3"),
    ):
        body = payment_body(order, account=account_no, amount=amount, bill_nos=[bill])
        r = await client.call("POST", "/v1/payments", json=body)
        assert r.status_code == 201, r.text


async def a_settled_day(shop: Shop, engine: AsyncEngine, clock: FrozenClock) -> None:
    """The shop (0.10 yuan a payment) takes three payments from a 200-yuan float; the
    next morning the day is settled."""
    await commission(engine, clock, OutletKind.SHOP, FeeRule(date(2026, 1, 1), fixed=10))
    await shop.deposit(20000)
    await pay_three(shop)
    await account(engine, clock, "BJWATER")
    clock.set(NEXT_MORNING)
    await settle(engine, clock)


async def books_hold(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return [v for r in await check_books(conn) for v in r.violations]


async def test_the_settlement_credits_each_outlet_its_commission_and_the_utility_pays_it(
    shop: Shop, bills: None, engine: AsyncEngine, clock: FrozenClock
) -> None:
    # 30 bp, at least 0.50 and at most 2.00 yuan, on each of 123.45, 50.00 and 0.80 yuan:
    # 0.37 → 0.50, 0.15 → 0.50, 0.0024 → 0.50 but never more than the payment (0.80: 0.50)
    await commission(engine, clock, OutletKind.SHOP,
                     FeeRule(date(2026, 1, 1), Decimal(30), minimum=50, maximum=200))  # fmt: skip
    # a rule for another kind of outlet does not apply to a shop
    await commission(engine, clock, OutletKind.COLLECTOR, FeeRule(date(2026, 1, 1), fixed=999))
    await shop.deposit(20000)
    await pay_three(shop)
    await account(engine, clock, "BJWATER")
    clock.set(NEXT_MORNING)
    outcome = (await settle(engine, clock))["BJWATER"]
    assert outcome.status == "SETTLED"
    assert outcome.total("commission") == 150
    assert outcome.total("net") == 17425 - 150
    assert await shop.float() == (20000 - 17425 + 150, 0)
    paid = await rows(engine, "SELECT outlet_id, payments, amount, commission"
                              " FROM settlement_commissions")  # fmt: skip
    assert [tuple(r) for r in paid] == [(shop.outlet_id, 3, 17425, 150)]
    assert await books_hold(engine) == []
    # settling again changes nothing, and says so
    again = (await settle(engine, clock))["BJWATER"]
    assert again.status == "UNCHANGED"
    assert await shop.float() == (20000 - 17425 + 150, 0)


async def test_a_commission_the_books_do_not_show_is_caught_by_the_check(
    shop: Shop, bills: None, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await a_settled_day(shop, engine, clock)
    await shop.run("ALTER TABLE settlements DISABLE TRIGGER ALL")
    await shop.run("UPDATE settlements SET commission = commission + 1, net = net - 1")
    found = await books_hold(engine)
    assert any("commission 31/30" in v for v in found), found


async def test_the_outlets_statement_adds_up_from_opening_to_closing(
    shop: Shop, bills: None, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await a_settled_day(shop, engine, clock)
    async with engine.connect() as conn:
        first = await _statement(conn, shop, DAY)
        second = await _statement(conn, shop, date(2026, 11, 23))
    assert (first.opening, first.closing) == (0, 20000 - 17425)
    assert [(m.kind, m.amount) for m in first.movements] == [
        ("deposit", 20000),
        ("payment", -12345),
        ("payment", -5000),
        ("payment", -80),
    ]
    assert first.movements[1].biller == "BJWATER" and first.movements[1].tender == "cash"
    assert first.as_json()["payments"] == {"count": 3, "amount": 17425}
    # the next day opens where the first closed, and the commission comes in
    assert (second.opening, second.closing) == (first.closing, first.closing + 30)
    assert second.as_json()["commission"] == 30
    csv = statements.to_csv(first).decode().splitlines()
    assert csv[0].startswith("time,kind,amount,balance,reference")
    assert csv[1].startswith("2026-11-22,opening,,0.00")
    assert csv[-1].startswith("2026-11-22,closing,,25.75")
    assert len(csv) == 2 + 4 + 1


async def _statement(conn: Any, shop: Shop, day: date) -> statements.Statement:
    account = (await conn.exec_driver_sql(
        f"SELECT float_account FROM outlets WHERE id = {shop.outlet_id}"
    )).scalar_one()  # fmt: skip
    return await statements.statement(
        conn, outlet_id=shop.outlet_id, outlet_code="SHOP1", float_account=account, day=day
    )


async def test_figures_by_outlet_region_operator_and_day(
    shop: Shop, bills: None, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await a_settled_day(shop, engine, clock)
    async with engine.connect() as conn:
        by_outlet = await figures.figures(conn, first=DAY, last=DAY, by=Grouping.OUTLET)
        by_region = await figures.figures(conn, first=DAY, last=DAY, by=Grouping.REGION)
        by_operator = await figures.figures(conn, first=DAY, last=DAY, by=Grouping.OPERATOR)
        other = await figures.figures(conn, first=DAY, last=DAY, by=Grouping.DAY, channel="X")
    (outlet,) = by_outlet
    assert outlet.as_json(Grouping.OUTLET) == {
        "outlet": "WECHAT/SHOP1", "payments": 3, "amount": 17425, "voids": 0, "voided": 0,
        "commission": 30, "deposits": 20000,
        # paid 174.25 over a mean float of (0 + 25.75) / 2
        "turnover": "13.53",
    }  # fmt: skip
    assert [(r.key, r.amount) for r in by_region] == [(("360600",), 17425)]
    assert [(r.key, r.payments, r.commission) for r in by_operator] == [
        (("WECHAT/SHOP1", ""), 3, None)
    ]
    assert other == []


async def test_the_statement_over_the_api_and_the_cli_and_the_figures_on_the_cli(
    shop: Shop,
    bills: None,
    engine: AsyncEngine,
    clock: FrozenClock,
    cli: CliRunner,  # noqa: F811
) -> None:
    await shop.deposit(20000)
    await pay_three(shop)
    client = shop.client()
    r = await client.call("GET", "/v1/outlet/statement", params={"date": "2026-11-22"})
    assert r.status_code == 200, r.text
    assert r.json()["closing"] == 20000 - 17425 and len(r.json()["movements"]) == 4
    r = await client.call("GET", "/v1/outlet/statement",
                          params={"date": "2026-11-22", "format": "csv"})  # fmt: skip
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.text.splitlines()[-1].startswith("2026-11-22,closing,,25.75")
    r = await client.call("GET", "/v1/outlet/statement", params={"date": "22/11/2026"})
    assert r.status_code == 400 and r.json()["code"] == "MALFORMED_REQUEST"
    # the CLI runs its own event loop: in a thread of its own
    statement = ("outlets", "statement", "--channel", "WECHAT", "--outlet", "SHOP1",
                 "--date", "2026-11-22")  # fmt: skip
    shown = await asyncio.to_thread(invoke, cli, *statement, "--json")
    assert orjson.loads(shown.stdout)["payments"] == {"count": 3, "amount": 17425}
    as_csv = await asyncio.to_thread(invoke, cli, *statement, "--csv")
    assert as_csv.stdout.splitlines()[0].startswith("time,kind,amount,balance")
    month = ("outlets", "figures", "--from", "2026-11-01", "--to", "2026-11-30")
    found = await asyncio.to_thread(invoke, cli, *month, "--by", "day", "--json")
    assert orjson.loads(found.stdout) == [{
        "day": "2026-11-22", "payments": 3, "amount": 17425, "voids": 0, "voided": 0,
        "commission": 0, "deposits": 20000, "turnover": None,
    }]  # fmt: skip
    refused = await asyncio.to_thread(invoke, cli, "outlets", "figures", "--from", "2026-11-30",
                                      "--to", "2026-11-01", code=2)  # fmt: skip
    assert "before --from" in refused.output


async def test_a_shifts_cash_difference_is_reported(
    shop: Shop,
    bills: None,
    clock: FrozenClock,
    cli: CliRunner,  # noqa: F811
) -> None:
    await shop.operator("OP1")
    await shop.deposit(20000)
    clock.set(clock.now() + timedelta(minutes=1))  # the shift opened when OP1 was added
    client = shop.client()
    body = payment_body("T9", amount=12345, bill_nos=["B1"], operator="OP1")
    assert (await client.call("POST", "/v1/payments", json=body)).status_code == 201
    clock.set(clock.now() + timedelta(minutes=1))
    closed = await client.call("POST", "/v1/outlet/shifts/close",
                               json={"operator": "OP1", "counted_cash": 12300})  # fmt: skip
    assert closed.json()["difference"] == -45
    shown = await asyncio.to_thread(invoke, cli, "outlets", "cash-differences", "--channel",
                                    "WECHAT", "--outlet", "SHOP1", "--json")  # fmt: skip
    [short] = orjson.loads(shown.stdout)
    assert (short["operator"], short["cash_expected"], short["difference"]) == ("OP1", 12345, -45)
