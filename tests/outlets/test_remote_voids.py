"""Voiding a remote utility's terminal payment: the biller protocol's refund (冲正), its
answer recorded once, an unanswered one resolved and never guessed."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import REMOTE_ACCOUNT
from tests.outlets.void_fixtures import (
    FLOAT,
    Outlet,
    remote_terminal_payment,
)
from tests.utility import CODE, Utility
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.payments import exceptions, voids
from utilipay.payments.schemas import PaymentStatus
from utilipay.runtime.books import check_books
from utilipay.web.hub import Hub
from utilipay_tools.client import ChannelClient

BODY = {"order_id": "POS-1", "biller": CODE, "account": REMOTE_ACCOUNT, "amount": 4250,
        "bill_nos": ["RB-1"], "payer": "cash-customer"}  # fmt: skip


@pytest.fixture
async def paid(
    wechat: ChannelClient,
    engine: AsyncEngine,
    clock: FrozenClock,
    utility: Utility,
    void_shop: Outlet,
) -> str:
    return await remote_terminal_payment(wechat, engine, clock, void_shop, utility.biller.id, BODY)


async def void(hub: Hub, outlet: Outlet, payment_id: str) -> voids.VoidResult:
    request = voids.VoidRequest(outlet.id, payment_id, "OP1", "wrong account")
    return await voids.void(
        hub.engine, hub.clock, hub.remote_billers, hub.directory.biller_by_id, request
    )


async def row(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).one()


async def state(engine: AsyncEngine, payment_id: str) -> tuple[Any, ...]:
    found = await row(
        engine,
        "SELECT p.status, op.float_state, f.balance, v.status AS void,"
        " (SELECT count(*) FROM journal_entries e WHERE e.kind = 'PAYMENT_VOID') AS entries,"
        " (SELECT count(*) FROM bill_claims c WHERE c.payment_id = p.id"
        "   AND c.released_at IS NULL) AS claims"
        " FROM payments p JOIN outlet_payments op ON op.payment_id = p.id"
        " JOIN outlet_floats f ON f.outlet_id = op.outlet_id"
        " LEFT JOIN outlet_voids v ON v.payment_id = p.id WHERE p.id = :p", p=payment_id,
    )  # fmt: skip
    return tuple(found)


VOIDED = ("VOIDED", "RETURNED", FLOAT, "VOIDED", 1, 0)
STANDING = ("SUCCEEDED", "TAKEN", FLOAT - 4250)


async def test_an_answered_refund_voids_at_once(
    hub: Hub, engine: AsyncEngine, utility: Utility, void_shop: Outlet, paid: str
) -> None:
    result = await void(hub, void_shop, paid)
    assert (result.payment.status, result.pending) == (PaymentStatus.VOIDED, False)
    assert await state(engine, paid) == VOIDED
    assert await utility.sim.standing_write_offs() == {paid: False}  # undone over there
    event = await row(engine, "SELECT count(*) AS n FROM outbox_events"
                      " WHERE event_type = 'payment.voided' AND aggregate_id = :p",
                      p=paid)  # fmt: skip
    assert event.n == 1
    # the books hold: the write-off's entry on the float, its void given back to it
    async with engine.connect() as conn:
        assert [v for r in await check_books(conn) for v in r.violations] == []


async def test_an_unanswered_refund_is_pending_then_resolved(
    hub: Hub,
    engine: AsyncEngine,
    clock: FrozenClock,
    utility: Utility,
    void_shop: Outlet,
    paid: str,
) -> None:
    utility.fail_with("error=1")  # 9999: nothing done
    result = await void(hub, void_shop, paid)
    assert (result.payment.status, result.pending) == (PaymentStatus.VOID_PENDING, True)
    assert await state(engine, paid) == ("VOID_PENDING", *STANDING[1:], "PENDING", 0, 1)
    pending = await row(engine, "SELECT next_check_at FROM payments WHERE id = :p", p=paid)
    await voids.resolve_due_voids(engine, clock, hub.remote_billers, hub.directory.biller_by_id)
    assert (await state(engine, paid))[0] == "VOID_PENDING"  # not due yet: nothing asked
    utility.fail_with("")
    clock.set(pending.next_check_at)
    await voids.resolve_due_voids(engine, clock, hub.remote_billers, hub.directory.biller_by_id)
    assert await state(engine, paid) == VOIDED
    assert await utility.sim.standing_write_offs() == {paid: False}


async def test_a_refusal_leaves_the_payment_standing(
    hub: Hub, engine: AsyncEngine, utility: Utility, void_shop: Outlet, paid: str
) -> None:
    async with engine.begin() as conn:  # the utility's books disagree on the amount: 1003
        await conn.execute(text(f"UPDATE billersim_{os.getpid()}.orders SET amount = amount + 1"))
    with pytest.raises(DomainError) as caught:
        await void(hub, void_shop, paid)
    assert caught.value.code is ErrorCode.VOID_NOT_ALLOWED and "1003" in caught.value.detail
    assert await state(engine, paid) == (*STANDING, "REFUSED", 0, 1)


async def test_unanswered_past_the_deadline_goes_to_a_person(
    hub: Hub,
    engine: AsyncEngine,
    clock: FrozenClock,
    utility: Utility,
    void_shop: Outlet,
    paid: str,
) -> None:
    utility.fail_with("error=1")
    await void(hub, void_shop, paid)
    for _ in range(5):
        found = await row(engine, "SELECT next_check_at, resolve_by FROM payments WHERE id = :p",
                          p=paid)  # fmt: skip
        if found.next_check_at is None:
            break
        clock.set(max(found.next_check_at, found.resolve_by))
        await voids.resolve_due_voids(engine, clock, hub.remote_billers, hub.directory.biller_by_id)
    (item,) = [e for e in await _open(engine) if e.payment_id == paid]
    assert item.kind is exceptions.Kind.VOID
    assert (await state(engine, paid))[0] == "VOID_PENDING"  # never guessed
    async with engine.begin() as conn:
        outcome = await exceptions.resolve(
            conn, clock, item.id, exceptions.Resolution.NOT_WRITTEN_OFF, actor="ops",
            reason="the utility confirms it undid the write-off",
        )  # fmt: skip
    assert outcome == "VOIDED"
    assert await state(engine, paid) == VOIDED


async def _open(engine: AsyncEngine) -> list[exceptions.OpenException]:
    async with engine.connect() as conn:
        return await exceptions.list_open(conn)
