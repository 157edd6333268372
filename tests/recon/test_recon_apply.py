"""Applying corrections never holds a transaction while a utility thinks: each is claimed
and committed before its call (write-ahead) and recorded after it, so a failure late in a
run keeps what was done, two people applying at once share the work, and a crash between
a call and its record is resumed without reversing anything twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import channel
from tests.recon.test_recon_corrections import apply
from tests.recon.test_recon_run import D, payment, run, statement
from tests.utility import Utility, remote_utility
from utilipay.billers import calls as biller_calls
from utilipay.billers.protocol.messages import ChargeRequest
from utilipay.billers.remote import RemoteBillers
from utilipay.clock import FrozenClock
from utilipay.payments import resolution
from utilipay.recon import actions, corrections

GHOSTS = 3


@pytest.fixture
async def utility(
    engine: AsyncEngine, db_url: URL, clock: FrozenClock, hub: Any
) -> AsyncIterator[Utility]:
    async with remote_utility(engine, db_url, clock, hub) as found:
        for n in range(1, GHOSTS + 1):
            await found.bill(f"030000000{n}", f"RB-{n}", 1000 * n)
        yield found


@pytest.fixture
async def ghosts(
    engine: AsyncEngine, clock: FrozenClock, utility: Utility, world: dict[str, object]
) -> tuple[int, list[str]]:
    """Write-offs at the utility of payments the hub failed and no channel was paid for:
    a run that proposes to reverse (冲正) each of them; its id and the payments."""
    wx, today = channel(world, "wechat").id, clock.now()
    async with engine.begin() as conn:
        failed = []
        for n in range(1, GHOSTS + 1):
            account, amount = f"030000000{n}", 1000 * n
            failed.append(await payment(conn, utility.biller.id, wx, f"R-GHOST-{n}", amount,
                                        "FAILED", today, account=account))  # fmt: skip
    billers = RemoteBillers(clock)
    try:
        for n, ghost in enumerate(failed, 1):
            await billers.get(utility.biller).call(ChargeRequest(
                account=f"030000000{n}", orderno=ghost, amount=1000 * n, billnos=(f"RB-{n}",),
                channel="WECHAT", paytime=today,
            ))  # fmt: skip
    finally:
        await billers.close()
    async with engine.begin() as conn:
        await statement(conn, "channel", "WECHAT", D, [])
        await statement(conn, "biller", "RWATER", D, [
            (ghost, 1000 * n, "PAID", today, "WECHAT") for n, ghost in enumerate(failed, 1)
        ])  # fmt: skip
    report = await run(engine, clock)
    assert [c["action"] for c in report.corrections] == ["REVERSE"] * GHOSTS
    return report.id, failed


async def fetch(engine: AsyncEngine, sql: str, **values: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text(sql), values))


async def test_the_utility_is_asked_with_the_correction_committed_and_nothing_locked(
    engine: AsyncEngine,
    clock: FrozenClock,
    ghosts: tuple[int, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id, _ = ghosts
    seen: list[tuple[str, str]] = []
    ask = resolution.call  # what actions.call is, until the test replaces it there

    async def watched(remote: Any, request: Any) -> Any:
        """While the utility is asked: from another connection, the correction is in flight
        (committed, so visible) and no transaction holds its row."""
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL lock_timeout = '100ms'"))
            row = (
                await conn.execute(
                    text(
                        "SELECT status, claimed_by FROM recon_corrections"
                        " WHERE status = 'IN_FLIGHT' FOR UPDATE NOWAIT"
                    )
                )
            ).one()
            seen.append((row.status, row.claimed_by))
        return await ask(remote, request)

    monkeypatch.setattr(actions, "call", watched)
    done = await apply(engine, clock, run_id)
    assert [d.applied for d in done] == [True] * GHOSTS
    assert seen == [("IN_FLIGHT", "ops-alice")] * GHOSTS


async def test_a_failure_late_in_the_run_keeps_the_reversals_already_recorded_and_resumes(
    engine: AsyncEngine,
    clock: FrozenClock,
    utility: Utility,
    ghosts: tuple[int, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The applier dies after the utility reversed the last one and before recording it."""
    run_id, failed = ghosts
    logged = biller_calls.log_call  # the same, for corrections.log_call
    calls = 0

    async def dies_on_the_last(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == GHOSTS:
            raise ConnectionResetError("the applier's database connection is gone")
        await logged(*args, **kwargs)

    monkeypatch.setattr(corrections, "log_call", dies_on_the_last)
    with pytest.raises(ConnectionResetError):
        await apply(engine, clock, run_id)
    monkeypatch.setattr(corrections, "log_call", logged)
    assert await utility.sim.standing_write_offs() == dict.fromkeys(failed, False)
    states = await fetch(engine, "SELECT status, attempts FROM recon_corrections ORDER BY item_no")
    assert [tuple(s) for s in states] == [("APPLIED", 1)] * (GHOSTS - 1) + [("IN_FLIGHT", 1)]

    at_once = await apply(engine, clock, run_id)  # the claim has not expired: not sent again
    assert [(a.applied, a.outcome.split(":")[0]) for a in at_once] == [(False, "in flight")]
    clock.advance(corrections.CLAIM_MARGIN * 2)  # past the claim (1 s timeouts here)
    resumed = await apply(engine, clock, run_id)
    assert [(a.applied, a.outcome.split(" (")[0]) for a in resumed] == [
        (True, "reversed at the utility")
    ]
    assert await utility.sim.standing_write_offs() == dict.fromkeys(failed, False)
    audits = await fetch(
        engine, "SELECT object_id, count(*) FROM audit_log WHERE action = 'recon.reverse'"
        " GROUP BY 1"
    )  # fmt: skip
    assert sorted(tuple(a) for a in audits) == sorted((p, 1) for p in failed)
    refunds = await fetch(
        engine, "SELECT payment_id, outcome FROM biller_calls WHERE trancode = 'refund'"
        " ORDER BY id"
    )  # fmt: skip
    # the lost record's refund was not logged; its resend was, and the utility said 0000
    assert sorted(tuple(r) for r in refunds) == sorted((p, "0000") for p in failed)
    assert await apply(engine, clock, run_id) == []


async def test_two_people_applying_at_once_reverse_each_write_off_once(
    engine: AsyncEngine, clock: FrozenClock, utility: Utility, ghosts: tuple[int, list[str]]
) -> None:
    run_id, failed = ghosts
    utility.fail_with("slow=1")  # every call takes a while: the two applies overlap
    both = await asyncio.gather(apply(engine, clock, run_id), apply(engine, clock, run_id))
    applied = sorted(a.order_id for done in both for a in done if a.applied)
    assert applied == [f"R-GHOST-{n}" for n in range(1, GHOSTS + 1)]
    assert all(len(done) >= 1 for done in both)
    sent = await fetch(
        engine, "SELECT payment_id, count(*) FROM biller_calls WHERE trancode = 'refund'"
        " GROUP BY 1"
    )  # fmt: skip
    assert sorted(tuple(s) for s in sent) == sorted((p, 1) for p in failed)
    assert await utility.sim.standing_write_offs() == dict.fromkeys(failed, False)
