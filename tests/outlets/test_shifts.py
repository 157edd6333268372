"""Shift close (日结轧账): an operator's payments and voids since their last close, the
cash expected against the cash counted."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import water
from tests.helpers import bill_line, import_bills
from tests.outlets.void_fixtures import Outlet, hosted_terminal_payment
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.outlets import shifts
from utilipay.payments import voids
from utilipay.web.hub import Hub


@pytest.fixture(autouse=True)
async def bills(engine: AsyncEngine, clock: FrozenClock, world: dict[str, Any]) -> None:
    await import_bills(engine, clock, *(bill_line(f"B-{n}", amount=1000 * n) for n in (1, 2, 3, 4)))


async def take(engine: AsyncEngine, clock: FrozenClock, world: dict[str, Any], void_shop: Outlet,
               bill: int, tender: str = "cash", operator: str = "OP1") -> str:  # fmt: skip
    clock.advance(timedelta(minutes=1))
    biller = water(world)
    return await hosted_terminal_payment(
        engine, clock, void_shop, biller.id, biller.payable_account_id, f"B-{bill}", 1000 * bill,
        tender=tender, operator=operator,
    )  # fmt: skip


async def close(engine: AsyncEngine, clock: FrozenClock, void_shop: Outlet, counted: int,
                operator: str = "OP1") -> shifts.Shift:  # fmt: skip
    clock.advance(timedelta(minutes=1))
    async with engine.begin() as conn:
        return await shifts.close_shift(
            conn, clock, outlet_id=void_shop.id, operator_code=operator, counted_cash=counted
        )


def figures(shift: shifts.Shift) -> tuple[int, ...]:
    return (shift.count, shift.amount, shift.voids, shift.cash_expected, shift.cash_counted,
            shift.difference)  # fmt: skip


async def test_a_shift_counts_payments_and_voids_since_the_last_close(
    hub: Hub, engine: AsyncEngine, clock: FrozenClock, world: dict[str, Any], void_shop: Outlet
) -> None:
    await take(engine, clock, world, void_shop, 1)
    voided = await take(engine, clock, world, void_shop, 2)
    await take(engine, clock, world, void_shop, 3, tender="card")
    await take(engine, clock, world, void_shop, 4, operator="OP2")  # another operator's drawer
    clock.advance(timedelta(minutes=1))
    request = voids.VoidRequest(void_shop.id, voided, "OP1", "wrong bill")
    await voids.void(engine, clock, hub.remote_billers, hub.directory.biller_by_id, request)
    first = await close(engine, clock, void_shop, 1000)
    # three payments taken (the voided one too), one void; cash 1000 + 2000 - 2000
    assert figures(first) == (3, 6000, 1, 1000, 1000, 0)
    again = await close(engine, clock, void_shop, 0)
    assert figures(again) == (0, 0, 0, 0, 0, 0)
    assert again.opened_at == first.closed_at
    assert figures(await close(engine, clock, void_shop, 4500, "OP2")) == (
        1,
        4000,
        0,
        4000,
        4500,
        500,
    )


async def test_a_difference_is_recorded_and_listed(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, Any], void_shop: Outlet
) -> None:
    await take(engine, clock, world, void_shop, 1)
    short = await close(engine, clock, void_shop, 900)
    assert short.difference == -100
    await close(engine, clock, void_shop, 0)  # even: not listed
    async with engine.connect() as conn:
        listed = await shifts.shifts_with_differences(conn, outlet_id=void_shop.id)
        assert [s.shift_id for s in listed] == [short.shift_id]
        assert await shifts.shifts_with_differences(conn, since=date(2026, 11, 23)) == []


async def test_only_an_active_operator_and_whole_fen(
    engine: AsyncEngine, clock: FrozenClock, void_shop: Outlet
) -> None:
    for operator, counted in (("OP9", 0), ("NOBODY", 0), ("OP1", -1)):
        with pytest.raises(DomainError) as caught:
            await close(engine, clock, void_shop, counted, operator)
        assert caught.value.code in {ErrorCode.FORBIDDEN, ErrorCode.MALFORMED_REQUEST}
    async with engine.connect() as conn:
        assert await shifts.shifts_with_differences(conn) == []
