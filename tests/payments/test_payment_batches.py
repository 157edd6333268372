"""Hosted payments grouped into batches: each item keeps its own outcome."""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import channel, water
from tests.helpers import bill_line, import_bills
from tests.outlets.rows import add_outlet, add_terminal
from utilipay.clock import FrozenClock
from utilipay.migrations.repeatable import sql_files
from utilipay.outlets.terminals import Tender, TerminalPayment
from utilipay.payments.hosted import BatchedHostedPayments, HostedPayment, Outcome, OutcomeCode
from utilipay.prepaid.topup import TopUps
from utilipay.runtime.books import check_books

# An upper-case literal of the SQL, and whether it is compared with (a state) or not
# (returned or assigned: ``outcome := 'REPLAYED'``)
_LITERAL = re.compile(r"((?<!:)=|<>)?\s*'([A-Z][A-Z_]*)'")


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
    assert [o.outcome for o in outcomes] == [OutcomeCode.CREATED] * 6
    assert [o.payment.id for o in outcomes] == [f"PTEST{n:04d}" for n in range(1, 7)]
    assert sizes == [1, 5]  # the first went alone; the rest queued behind it


async def test_one_bill_twice_in_a_batch(batcher: Any, world: Any) -> None:
    batches, sizes = batcher
    first, second, third = await asyncio.gather(
        batches.pay(item(world, 1)),
        batches.pay(item(world, 2)),
        batches.pay(item(world, 3, account_no="0100000002", bill_nos=("B2",))),
    )
    assert sizes == [1, 2]
    assert first.outcome is OutcomeCode.CREATED
    assert {second.outcome, third.outcome} == {OutcomeCode.CREATED, OutcomeCode.BILL_ALREADY_PAID}


async def test_twins_in_a_batch_make_one_payment(batcher: Any, world: Any) -> None:
    batches, _ = batcher
    outcomes = await asyncio.gather(
        batches.pay(item(world, 1)),
        batches.pay(item(world, 2, order="TWIN")),
        batches.pay(item(world, 3, order="TWIN", account_no="0100000002", bill_nos=("B2",))),
    )
    assert outcomes[1].outcome is OutcomeCode.CREATED
    assert outcomes[2].outcome is OutcomeCode.EXISTING
    assert outcomes[2].payment.id == outcomes[1].payment.id


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
    assert [r.outcome for r in results if isinstance(r, Outcome)] == [OutcomeCode.CREATED] * 3
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


def test_the_outcome_codes_are_every_outcome_the_sql_returns() -> None:
    texts = {f.path: f.text for f in sql_files()}
    returned = {
        literal[2]
        for path in ("payments/pay_hosted.sql", "payments/batches.sql", "prepaid/top_up.sql")
        for literal in _LITERAL.finditer(texts[path])
        if not literal[1]  # ``status = 'UNPAID'``, ``v_state <> 'CUT'``: states, not outcomes
    }
    assert returned == {code.value for code in OutcomeCode}


async def empty_float(engine: AsyncEngine, clock: FrozenClock, world: Any) -> str:
    """A terminal payment (as the batch takes it) of an outlet whose float is empty."""
    async with engine.begin() as conn:
        outlet = await add_outlet(conn, clock, channel(world, "wechat"))
        terminal = await add_terminal(conn, clock, outlet)
    taken = TerminalPayment(terminal, outlet, 0, None, Tender.CASH, None)
    return taken.as_json()


async def test_every_outcome_of_the_database_is_parsed(
    batcher: Any, world: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    batches, _ = batcher
    paid: dict[str, Any] = {"account_no": "0100000001", "bill_nos": ("B1",)}  # item 1's, paid
    asked = [  # in turn: each after the ones before
        (OutcomeCode.CREATED, item(world, 1)),
        (OutcomeCode.REPLAYED, item(world, 1)),  # its nonce again
        (OutcomeCode.EXISTING, item(world, 1, nonce=None)),
        (OutcomeCode.IDEMPOTENCY_CONFLICT, item(world, 2, order="ORDER1")),
        (OutcomeCode.BILL_ALREADY_PAID, item(world, 3, **paid)),
        (OutcomeCode.NO_BILL_DUE, item(world, 4, account_no="0100000001", bill_nos=None)),
        (OutcomeCode.ACCOUNT_NOT_FOUND, item(world, 5, account_no="0199999999", bill_nos=None)),
        (OutcomeCode.BILL_NOT_FOUND, item(world, 6, bill_nos=("NOPE",))),
        (OutcomeCode.AMOUNT_MISMATCH, item(world, 7, account_no="0100000002", bill_nos=("B2",),
                                           amount=1)),
        (OutcomeCode.FLOAT_INSUFFICIENT, item(world, 9, account_no="0100000004", bill_nos=("B4",),
                                              terminal=await empty_float(engine, clock, world))),
    ]  # fmt: skip
    answered = {expected: await batches.pay(payment) for expected, payment in asked}
    top_up = item(world, 8, account_no="0100000003", bill_nos=None)  # a postpaid account
    answered[OutcomeCode.NOT_PREPAID] = await TopUps(engine, clock).top_up(top_up)

    assert {expected: o.outcome for expected, o in answered.items()} == {c: c for c in OutcomeCode}
    created = answered[OutcomeCode.CREATED].payment
    assert created is not None and created.id == "PTEST0001" and created.bill_nos == ("B1",)
    assert answered[OutcomeCode.EXISTING].payment == created
    assert answered[OutcomeCode.IDEMPOTENCY_CONFLICT].payment == created
    refusals = set(OutcomeCode) - {
        OutcomeCode.CREATED,
        OutcomeCode.EXISTING,
        OutcomeCode.IDEMPOTENCY_CONFLICT,
    }
    assert all(answered[r].payment is None and answered[r].detail for r in refusals)


async def test_a_batch_of_distinct_accounts_answers_each_item_and_books_each_payment(
    batcher: Any, world: Any, engine: AsyncEngine
) -> None:
    """Distinct accounts and orders: the batch is written set-wise (pay_hosted_many), and
    every item still gets its own answer, its own payment, entry, write-off and event."""
    batches, _ = batcher
    earlier = await batches._call([item(world, 4)])
    batch = [
        item(world, 1),
        item(world, 2, amount=1),
        item(world, 3, nonce="batch-test-nonce-0004"),  # item 4's nonce, used above
        item(world, 4, nonce="batch-test-nonce-again"),  # the order paid above, resent
        item(world, 5, bill_nos=("B6",)),  # another account's bill
        item(world, 6, bill_nos=None),  # every bill due: B6
    ]
    outcomes = await batches._call(batch)
    assert [o.outcome for o in outcomes] == [
        OutcomeCode.CREATED,
        OutcomeCode.AMOUNT_MISMATCH,
        OutcomeCode.REPLAYED,
        OutcomeCode.EXISTING,
        OutcomeCode.BILL_NOT_FOUND,
        OutcomeCode.CREATED,
    ]
    assert outcomes[3].payment.id == earlier[0].payment.id
    async with engine.connect() as conn:
        bills = await conn.execute(
            text("SELECT bill_no, payment_id FROM bills WHERE status = 'PAID'")
        )
        paid = {bill_no: payment_id for bill_no, payment_id in bills}
        entries = (
            await conn.execute(
                text(
                    "SELECT j.payment_id, sum(p.amount), count(*) FROM journal_entries j"
                    " JOIN postings p ON p.biller_id = j.biller_id AND p.entry_id = j.id"
                    " WHERE j.kind = 'PAYMENT' GROUP BY j.payment_id ORDER BY 1"
                )
            )
        ).all()
        events = (
            (
                await conn.execute(
                    text(
                        "SELECT aggregate_id FROM outbox_events"
                        " WHERE event_type = 'payment.succeeded' ORDER BY 1"
                    )
                )
            )
            .scalars()
            .all()
        )
        failed = [r.check.name for r in await check_books(conn) if not r.passed]
    assert paid == {"B1": "PTEST0001", "B4": "PTEST0004", "B6": "PTEST0006"}
    assert entries == [(f"PTEST000{n}", 0, 2) for n in (1, 4, 6)]
    assert events == ["PTEST0001", "PTEST0004", "PTEST0006"]
    assert failed == []


async def test_a_nonce_or_a_bill_twice_in_a_set_wise_batch_is_refused(
    batcher: Any, world: Any
) -> None:
    batches, _ = batcher
    outcomes = await batches._call(
        [
            item(world, 1),
            item(world, 2, nonce="batch-test-nonce-0001"),  # item 1's, in the same batch
            item(world, 3, bill_nos=("B3", "B3"), amount=2 * 12345),
        ]
    )
    assert [o.outcome for o in outcomes] == [
        OutcomeCode.CREATED,
        OutcomeCode.REPLAYED,
        OutcomeCode.BILL_NOT_FOUND,
    ]
