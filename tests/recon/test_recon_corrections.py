"""Corrections: proposed with evidence, applied once (also when two people apply at once),
audited; a dry run changes nothing; the remote ones go through the biller protocol."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import channel, water
from tests.recon.test_recon_run import D, at, payment, remote_biller, run, statement
from tests.utility import Utility, remote_utility
from utilipay.billers.protocol.messages import ChargeRequest
from utilipay.billers.remote import RemoteBillers
from utilipay.clock import FrozenClock
from utilipay.payments import exceptions
from utilipay.recon import corrections
from utilipay.recon.corrections import Applied
from utilipay_tools.client import ChannelClient

ACCOUNT = "0300000001"


async def apply(
    engine: AsyncEngine, clock: FrozenClock, run_id: int, **options: Any
) -> list[Applied]:
    billers = RemoteBillers(clock)
    try:
        return await corrections.apply(
            engine, clock, run_id, billers, actor="ops-alice", reason="daily recon", **options
        )
    finally:
        await billers.close()


async def counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM refunds) AS refunds,"
                    " (SELECT count(*) FROM payment_exceptions) AS exceptions,"
                    " (SELECT count(*) FROM outbox_events WHERE event_type = 'refund.opened')"
                    "   AS events,"
                    " (SELECT count(*) FROM audit_log WHERE action LIKE 'recon.%'"
                    "   AND action <> 'recon.run') AS audits,"  # the corrections' own
                    " (SELECT count(*) FROM recon_corrections WHERE status = 'APPLIED')"
                    "   AS applied"
                )
            )
        ).one()
    return dict(row._mapping)


async def hosted_breaks(engine: AsyncEngine, world: dict[str, object]) -> None:
    """A hosted day with a failed payment the channel took money for, an order the hub
    never saw, and a write-off the channel does not list."""
    b, wx = water(world).id, channel(world, "wechat").id
    async with engine.begin() as conn:
        await payment(conn, b, wx, "W-OK", 100, finished=at(D, "09:00"))
        await payment(conn, b, wx, "W-FAILED", 500, "FAILED", at(D, "10:00"))
        await payment(conn, b, wx, "W-SHORT", 700, finished=at(D, "11:00"))
        await statement(conn, "channel", "WECHAT", D, [
            ("W-OK", 100, "PAID", at(D, "09:00")),
            ("W-FAILED", 500, "PAID", at(D, "10:00")),
            ("W-LONG", 600, "PAID", at(D, "10:30")),
        ])  # fmt: skip


@pytest.fixture
async def breaks(engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]) -> int:
    """The run of ``hosted_breaks``' day; its id."""
    await hosted_breaks(engine, world)
    return (await run(engine, clock)).id


async def test_a_dry_run_says_what_and_changes_nothing(
    engine: AsyncEngine, clock: FrozenClock, breaks: int
) -> None:
    before = await counts(engine)
    planned = await apply(engine, clock, breaks, dry_run=True)
    assert sorted((p.order_id, p.action, p.applied) for p in planned) == [
        ("W-FAILED", "REFUND", False), ("W-LONG", "EXCEPTION", False),
        ("W-SHORT", "EXCEPTION", False),
    ]  # fmt: skip
    assert all(p.outcome.startswith("would ") for p in planned)
    refund = next(p for p in planned if p.action == "REFUND")
    assert refund.evidence["channel"]["amount"] == 500
    assert refund.evidence["hub"]["status"] == "FAILED"
    assert await counts(engine) == before


async def test_corrections_are_applied_once_and_audited(
    engine: AsyncEngine, clock: FrozenClock, breaks: int, world: dict[str, object]
) -> None:
    first = await apply(engine, clock, breaks, only="CHANNEL_ONLY")
    assert sorted((a.order_id, a.applied) for a in first) == [("W-FAILED", True), ("W-LONG", True)]
    assert await counts(engine) == {
        "refunds": 1,
        "exceptions": 1,  # the order the hub never saw: in the queue for a person
        "events": 1,
        "audits": 2,
        "applied": 2,
    }
    async with engine.connect() as conn:
        refund = (await conn.execute(text("SELECT * FROM refunds"))).one()
        event = (
            await conn.execute(
                text("SELECT * FROM outbox_events WHERE event_type = 'refund.opened'")
            )
        ).one()
        audit = (
            await conn.execute(text("SELECT * FROM audit_log WHERE action = 'recon.refund'"))
        ).one()
    assert (refund.order_id, refund.amount, refund.status, refund.business_date) == (
        "W-FAILED",
        500,
        "OPEN",
        D,
    )
    assert refund.id.startswith("F") and refund.biller_id == water(world).id
    assert refund.channel_id == channel(world, "wechat").id
    assert event.aggregate_id == refund.id and event.payload["amount"] == 500
    assert (audit.actor, audit.reason, audit.at) == ("ops-alice", "daily recon", clock.now())
    assert audit.details["key"] == f"{breaks}:WECHAT:W-FAILED:REFUND"

    rest = await apply(engine, clock, breaks)
    assert [(a.order_id, a.action) for a in rest] == [("W-SHORT", "EXCEPTION")]
    assert await apply(engine, clock, breaks) == []  # applying again does nothing
    assert (await counts(engine))["audits"] == 3
    async with engine.connect() as conn:
        queued = await exceptions.list_open(conn)
    assert [(e.order_id, e.kind) for e in queued] == [
        ("W-LONG", "CHANNEL_ONLY"), ("W-SHORT", "HUB_ONLY")
    ]  # fmt: skip

    # a second run of the day proposes again; nothing is done twice
    clock.advance(timedelta(hours=1))
    again = (await run(engine, clock)).id
    outcomes = {a.order_id: a.outcome for a in await apply(engine, clock, again)}
    assert outcomes["W-FAILED"] == "a refund of this order is already open"
    assert outcomes["W-LONG"] == f"already in the exceptions queue (exception {queued[0].id})"
    assert outcomes["W-SHORT"] == f"already in the exceptions queue (exception {queued[1].id})"
    after = await counts(engine)
    assert (after["refunds"], after["exceptions"], after["events"]) == (1, 2, 1)


async def test_two_people_applying_at_once_apply_each_correction_once(
    engine: AsyncEngine, clock: FrozenClock, breaks: int
) -> None:
    both = await asyncio.gather(apply(engine, clock, breaks), apply(engine, clock, breaks))
    applied = [a.order_id for done in both for a in done if a.applied]
    assert sorted(applied) == ["W-FAILED", "W-LONG", "W-SHORT"]
    assert await counts(engine) == {
        "refunds": 1,
        "exceptions": 2,
        "events": 1,
        "audits": 3,
        "applied": 3,
    }


async def test_a_reason_is_required_and_the_run_must_exist(
    engine: AsyncEngine, clock: FrozenClock, breaks: int
) -> None:
    with pytest.raises(Exception, match="reason"):
        await apply(engine, clock, breaks, reason=" ")
    with pytest.raises(Exception, match="no reconciliation run 999"):
        await apply(engine, clock, 999)


@pytest.fixture
async def utility(
    engine: AsyncEngine, db_url: URL, clock: FrozenClock, hub: Any
) -> AsyncIterator[Utility]:
    async with remote_utility(engine, db_url, clock, hub) as found:
        for n in range(1, 4):
            await found.bill(f"030000000{n}", f"RB-{n}", 1000 * n)
        yield found


async def test_remote_write_offs_are_reconfirmed_resent_and_reversed(
    engine: AsyncEngine, clock: FrozenClock, utility: Utility, wechat: ChannelClient,
    world: dict[str, object],
) -> None:  # fmt: skip
    wx = channel(world, "wechat").id
    paid = await wechat.call("POST", "/v1/payments", json={
        "order_id": "R-PAID", "biller": "RWATER", "account": "0300000001", "amount": 1000,
        "bill_nos": ["RB-1"], "payer": "p",
    })  # fmt: skip
    assert paid.json()["status"] == "SUCCEEDED"
    today = clock.now()
    async with engine.begin() as conn:
        # the hub believes RB-2 written off; the utility never got the charge
        lost = await payment(
            conn, utility.biller.id, wx, "R-LOST", 2000, finished=today,
            bill_nos=["RB-2"], account="0300000002",
        )  # fmt: skip
        # written off at the utility for an order the hub failed, and no channel paid
        ghost = await payment(conn, utility.biller.id, wx, "R-GHOST", 3000, "FAILED", today)
    billers = RemoteBillers(clock)
    try:
        await billers.get(utility.biller).call(ChargeRequest(
            account="0300000003", orderno=ghost, amount=3000, billnos=("RB-3",),
            channel="WECHAT", paytime=today,
        ))  # fmt: skip
    finally:
        await billers.close()
    day = D
    async with engine.begin() as conn:
        await statement(conn, "channel", "WECHAT", day, [
            ("R-PAID", 1000, "PAID", today), ("R-LOST", 2000, "PAID", today),
        ])  # fmt: skip
        # the utility's statement lost R-PAID's line too
        await statement(conn, "biller", "RWATER", day, [(ghost, 3000, "PAID", today, "WECHAT")])
    report = await run(engine, clock)
    proposed = {c["order_id"]: c["action"] for c in report.corrections}
    assert proposed == {"R-PAID": "RECONFIRM", "R-LOST": "RECONFIRM", "R-GHOST": "REVERSE"}
    done = {a.action + ":" + a.order_id: a for a in await apply(engine, clock, report.id)}
    outcomes = sorted(a.outcome.split(" (")[0].split(":")[0] for a in done.values())
    assert outcomes == [
        "reversed at the utility",
        "the utility has the write-off",
        "write-off missing at the utility",
    ]
    assert all(a.applied for a in done.values())
    standing = await utility.sim.standing_write_offs()
    assert standing[lost] is True and standing[ghost] is False
    async with engine.connect() as conn:
        calls = (
            await conn.execute(
                text("SELECT trancode FROM biller_calls WHERE payment_id = :p ORDER BY id"),
                {"p": lost},
            )
        ).scalars()
        assert list(calls) == ["confirm", "charge"]
    again = await apply(engine, clock, report.id)
    assert again == []


async def test_a_pending_payment_the_channel_took_money_for_is_resolved_now(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    wx = channel(world, "wechat").id
    power = (await remote_biller(engine, clock)).id
    async with engine.begin() as conn:
        pending = await payment(conn, power, wx, "R-PENDING", 500, "PROCESSING")
        await statement(conn, "channel", "WECHAT", D, [("R-PENDING", 500, "PAID", at(D, "08:40"))])
    report = await run(engine, clock)
    assert [(c["order_id"], c["action"]) for c in report.corrections] == [
        ("R-PENDING", "RECONFIRM")
    ]
    done = await apply(engine, clock, report.id)
    assert done[0].outcome.startswith("pending payment due for resolution now")
    async with engine.connect() as conn:
        due = (
            await conn.execute(
                text("SELECT next_check_at FROM payments WHERE id = :p"), {"p": pending}
            )
        ).scalar_one()
    assert due == clock.now()  # the resolver's next pass confirms it (and charges if lost)
