"""Voiding a hosted terminal payment the same day (channel-api.md §11): who may, when, and
everything a void changes in one transaction."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import water
from tests.helpers import bill_line, import_bills
from tests.outlets.void_fixtures import (
    FLOAT,
    Outlet,
    hosted_terminal_payment,
    open_outlet,
)
from utilipay.billers.protocol.messages import OrderStatus
from utilipay.channels.schemas import Channel
from utilipay.clock import FrozenClock, day_bounds
from utilipay.errors import DomainError, ErrorCode
from utilipay.payments import voids
from utilipay.payments.schemas import PaymentStatus
from utilipay.runtime.books import check_books
from utilipay.settlement import repository as settlement_repository
from utilipay.statements import service as statements
from utilipay.web.hub import Hub

AMOUNT = 12345


@pytest.fixture
async def paid(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, Any], void_shop: Outlet
) -> str:
    """A cash payment of bill B-1 at the void_shop, by OP1."""
    await import_bills(engine, clock, bill_line("B-1", amount=AMOUNT))
    biller = water(world)
    return await hosted_terminal_payment(
        engine, clock, void_shop, biller.id, biller.payable_account_id, "B-1", AMOUNT
    )


async def void(hub: Hub, outlet: Outlet, payment_id: str, operator: str = "OP1") -> Any:
    request = voids.VoidRequest(outlet.id, payment_id, operator, "customer paid the wrong bill")
    return await voids.void(
        hub.engine, hub.clock, hub.remote_billers, hub.directory.biller_by_id, request
    )


async def one(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).one()


async def failed_checks(engine: AsyncEngine) -> dict[str, list[str]]:
    async with engine.connect() as conn:
        return {r.check.name: r.violations for r in await check_books(conn) if not r.passed}


async def test_a_void_undoes_the_payment_in_one_transaction(
    hub: Hub, engine: AsyncEngine, void_shop: Outlet, paid: str
) -> None:
    result = await void(hub, void_shop, paid)
    assert (result.payment.status, result.pending) == (PaymentStatus.VOIDED, False)
    bill = await one(engine, "SELECT status, payment_id FROM bills WHERE bill_no = 'B-1'")
    assert tuple(bill) == ("UNPAID", None)
    floats = await one(engine, "SELECT balance, held FROM outlet_floats WHERE outlet_id = :o",
                       o=void_shop.id)  # fmt: skip
    assert tuple(floats) == (FLOAT, 0)
    state = await one(engine, "SELECT float_state FROM outlet_payments WHERE payment_id = :p",
                      p=paid)  # fmt: skip
    assert state.float_state == "RETURNED"
    record = await one(
        engine,
        "SELECT operator_code, reason, status, finished_at IS NOT NULL AS done FROM outlet_voids"
        " WHERE payment_id = :p", p=paid,
    )  # fmt: skip
    assert tuple(record) == ("OP1", "customer paid the wrong bill", "VOIDED", True)
    entry = await one(
        engine,
        "SELECT array_agg(a.kind || ':' || p.amount ORDER BY p.line_no) AS lines"
        "  FROM journal_entries e JOIN postings p ON p.entry_id = e.id"
        "  JOIN ledger_accounts a ON a.id = p.account_id"
        " WHERE e.payment_id = :p AND e.kind = 'PAYMENT_VOID'", p=paid,
    )  # fmt: skip
    assert entry.lines == [f"BILLER_PAYABLE:{AMOUNT}", f"OUTLET_FLOAT:{-AMOUNT}"]
    event = await one(engine, "SELECT payload->>'status' AS s FROM outbox_events"
                      " WHERE event_type = 'payment.voided' AND aggregate_id = :p",
                      p=paid)  # fmt: skip
    assert event.s == "VOIDED"
    audit = await one(engine, "SELECT actor, reason FROM audit_log WHERE action = 'payment.void'")
    assert tuple(audit) == (f"outlet:{void_shop.id}/OP1", "customer paid the wrong bill")
    assert await failed_checks(engine) == {}


async def test_the_books_see_a_void_whose_float_was_not_given_back(
    hub: Hub, engine: AsyncEngine, void_shop: Outlet, paid: str
) -> None:
    await void(hub, void_shop, paid)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE outlet_payments SET float_state = 'TAKEN'"))
    assert list(await failed_checks(engine)) == ["voids_gave_the_float_back"]


async def test_a_repeated_void_answers_the_same_and_books_once(
    hub: Hub, engine: AsyncEngine, void_shop: Outlet, paid: str
) -> None:
    await void(hub, void_shop, paid)
    again = await void(hub, void_shop, paid)
    assert again.payment.status is PaymentStatus.VOIDED
    entries = await one(engine, "SELECT count(*) AS n FROM journal_entries"
                        " WHERE kind = 'PAYMENT_VOID'")  # fmt: skip
    assert entries.n == 1


async def test_the_bill_is_due_again_and_can_be_paid(
    hub: Hub, engine: AsyncEngine, clock: FrozenClock, world: dict[str, Any], void_shop: Outlet,
    paid: str,
) -> None:  # fmt: skip
    await void(hub, void_shop, paid)
    biller = water(world)
    again = await hosted_terminal_payment(
        engine, clock, void_shop, biller.id, biller.payable_account_id, "B-1", AMOUNT
    )
    bill = await one(engine, "SELECT status, payment_id FROM bills WHERE bill_no = 'B-1'")
    assert tuple(bill) == ("PAID", again)
    assert await failed_checks(engine) == {}


async def refused(hub: Hub, outlet: Outlet, payment_id: str, operator: str = "OP1") -> DomainError:
    with pytest.raises(DomainError) as caught:
        await void(hub, outlet, payment_id, operator)
    return caught.value


async def nothing_written(engine: AsyncEngine, payment_id: str) -> None:
    row = await one(
        engine,
        "SELECT p.status, (SELECT count(*) FROM outlet_voids) AS voids,"
        " (SELECT count(*) FROM journal_entries WHERE kind = 'PAYMENT_VOID') AS entries"
        " FROM payments p WHERE p.id = :p", p=payment_id,
    )  # fmt: skip
    assert tuple(row) == ("SUCCEEDED", 0, 0)


async def test_only_the_outlet_that_took_it_may_void_it(
    hub: Hub, engine: AsyncEngine, clock: FrozenClock, world: dict[str, Any], paid: str
) -> None:
    alipay = world["alipay"]
    assert isinstance(alipay, Channel)
    other = await open_outlet(engine, clock, alipay, "SHOP2")
    assert (await refused(hub, other, paid)).code is ErrorCode.VOID_NOT_ALLOWED
    await nothing_written(engine, paid)


async def test_a_channel_payment_cannot_be_voided(
    hub: Hub, engine: AsyncEngine, clock: FrozenClock, world: dict[str, Any], void_shop: Outlet,
    paid: str,
) -> None:  # fmt: skip
    async with engine.begin() as conn:  # the same payment, as if a wallet had made it
        await conn.execute(text("DELETE FROM outlet_payments"))
    assert (await refused(hub, void_shop, paid)).code is ErrorCode.VOID_NOT_ALLOWED


async def test_only_an_active_operator_of_the_outlet(
    hub: Hub, engine: AsyncEngine, void_shop: Outlet, paid: str
) -> None:
    assert (await refused(hub, void_shop, paid, "OP9")).code is ErrorCode.FORBIDDEN  # disabled
    assert (await refused(hub, void_shop, paid, "NOBODY")).code is ErrorCode.FORBIDDEN
    await nothing_written(engine, paid)


async def test_only_on_the_same_business_day(
    hub: Hub, engine: AsyncEngine, clock: FrozenClock, void_shop: Outlet, paid: str
) -> None:
    clock.advance(timedelta(hours=8, minutes=30))  # 00:00 the next day in Shanghai
    error = await refused(hub, void_shop, paid)
    assert error.code is ErrorCode.VOID_NOT_ALLOWED and "2026-11-22" in error.detail
    await nothing_written(engine, paid)
    clock.advance(timedelta(seconds=-1))  # 23:59:59 the same day
    assert (await void(hub, void_shop, paid)).payment.status is PaymentStatus.VOIDED


@pytest.mark.parametrize(("channel", "biller", "allowed"), [
    (None, None, False), ("WECHAT", None, False), (None, "BJWATER", False),
    ("ALIPAY", None, True), (None, "OTHER", True),
])  # fmt: skip
async def test_not_once_its_day_is_reconciled(
    hub: Hub, engine: AsyncEngine, clock: FrozenClock, void_shop: Outlet, paid: str,
    channel: str | None, biller: str | None, allowed: bool,
) -> None:  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO recon_runs (business_date, channel_code, biller_code, cutoff_s,"
                " actor, started_at, finished_at, records, counts, sources)"
                " VALUES ('2026-11-22', :c, :b, 0, 'test', :now, :now, 0, '{}', '{}')"
            ),
            {"c": channel, "b": biller, "now": clock.now()},
        )
    if allowed:  # another channel's or another utility's run
        assert (await void(hub, void_shop, paid)).payment.status is PaymentStatus.VOIDED
    else:
        assert (await refused(hub, void_shop, paid)).code is ErrorCode.VOID_NOT_ALLOWED
        await nothing_written(engine, paid)


async def test_a_reason_is_required(hub: Hub, void_shop: Outlet, paid: str) -> None:
    request = voids.VoidRequest(void_shop.id, paid, "OP1", "  ")
    with pytest.raises(DomainError) as caught:
        await voids.void(hub.engine, hub.clock, hub.remote_billers, hub.directory.biller_by_id,
                         request)  # fmt: skip
    assert caught.value.code is ErrorCode.MALFORMED_REQUEST


async def test_the_utility_statement_has_the_write_off_and_its_void(
    hub: Hub, engine: AsyncEngine, clock: FrozenClock, world: dict[str, Any], void_shop: Outlet,
    paid: str,
) -> None:  # fmt: skip
    clock.advance(timedelta(minutes=5))
    await void(hub, void_shop, paid)
    start, end = day_bounds(date(2026, 11, 22))
    async with engine.connect() as conn:
        lines = await statements.lines_between(conn, water(world).id, start, end)
        sold = await settlement_repository.sales(conn, [water(world).id], start, end)
    assert [(line.orderno, line.status) for line in lines] == [
        (paid, OrderStatus.SUCCESS), (paid, OrderStatus.REVERSED)
    ]  # fmt: skip
    assert sold == []  # not owed to the utility
