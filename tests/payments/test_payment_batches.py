"""Hosted payments grouped into batches: each item keeps its own outcome."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import channel, water
from tests.helpers import bill_line, import_bills
from utilipay.clock import FrozenClock
from utilipay.payments.hosted import BatchedHostedPayments, HostedPayment, Outcome


@pytest.fixture
async def batcher(
    engine: AsyncEngine, clock: FrozenClock, world: Any
) -> tuple[BatchedHostedPayments, list[int]]:
    await import_bills(
        engine, clock, *(bill_line(f"B{i}", account=f"01000000{i:02d}") for i in range(1, 7))
    )
    sizes: list[int] = []
    batches = BatchedHostedPayments(engine, clock, max_in_flight=1)
    call = batches._call

    async def recording_call(items: list[HostedPayment]) -> list[Outcome]:
        sizes.append(len(items))
        return await call(items)

    batches._call = recording_call  # type: ignore[method-assign]
    return batches, sizes


def item(world: Any, n: int, *, order: str | None = None, **overrides: Any) -> HostedPayment:
    values: dict[str, Any] = {
        "id": f"PTEST{n:04d}",
        "channel_id": channel(world, "wechat").id,
        "nonce": f"batch-test-nonce-{n:04d}",
        "order_id": order or f"ORDER{n}",
        "request_hash": hashlib.sha256(f"{order or n}".encode()).digest(),
        "biller_id": water(world).id,
        "account_no": f"01000000{n:02d}",
        "amount": 12345,
        "bill_nos": (f"B{n}",),
        "payer": "p",
        "receivable_account": channel(world, "wechat").receivable_account_id,
        "payable_account": water(world).payable_account_id,
    }
    values.update(overrides)
    return HostedPayment(**values)


async def test_concurrent_payments_share_a_batch(batcher: Any, world: Any) -> None:
    batches, sizes = batcher
    outcomes = await asyncio.gather(*(batches.pay(item(world, n)) for n in range(1, 7)))
    assert [o.outcome for o in outcomes] == ["CREATED"] * 6
    assert [o.payment["id"] for o in outcomes] == [f"PTEST{n:04d}" for n in range(1, 7)]
    assert sizes == [1, 5]  # the first went alone; the rest queued behind it


async def test_one_bill_twice_in_a_batch(batcher: Any, world: Any) -> None:
    batches, sizes = batcher
    first, second, third = await asyncio.gather(
        batches.pay(item(world, 1)),
        batches.pay(item(world, 2)),
        batches.pay(item(world, 3, account_no="0100000002", bill_nos=("B2",))),
    )
    assert sizes == [1, 2]
    assert first.outcome == "CREATED"
    assert {second.outcome, third.outcome} == {"CREATED", "BILL_ALREADY_PAID"}


async def test_twins_in_a_batch_make_one_payment(batcher: Any, world: Any) -> None:
    batches, _ = batcher
    outcomes = await asyncio.gather(
        batches.pay(item(world, 1)),
        batches.pay(item(world, 2, order="TWIN")),
        batches.pay(item(world, 3, order="TWIN", account_no="0100000002", bill_nos=("B2",))),
    )
    assert outcomes[1].outcome == "CREATED"
    assert outcomes[2].outcome == "EXISTING"
    assert outcomes[2].payment["id"] == outcomes[1].payment["id"]


async def test_a_failing_item_does_not_fail_its_neighbours(
    batcher: Any, world: Any, engine: AsyncEngine
) -> None:
    batches, sizes = batcher
    results = await asyncio.gather(
        batches.pay(item(world, 1)),
        batches.pay(item(world, 2)),
        batches.pay(item(world, 3, channel_id=999)),  # no such channel: a foreign key violation
        batches.pay(item(world, 4)),
        return_exceptions=True,
    )
    assert [r.outcome for r in results if isinstance(r, Outcome)] == ["CREATED"] * 3
    assert isinstance(results[2], Exception) and "foreign key" in str(results[2])
    assert sizes == [1, 3, 1, 1, 1]  # the failed batch of 3, then each item alone
    async with engine.connect() as conn:
        paid = (await conn.execute(text("SELECT count(*) FROM payments"))).scalar_one()
        nonce = (
            await conn.execute(
                text("SELECT count(*) FROM channel_nonces WHERE nonce = 'batch-test-nonce-0003'")
            )
        ).scalar_one()
    assert (paid, nonce) == (3, 0)
