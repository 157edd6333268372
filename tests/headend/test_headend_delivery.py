"""Delivering meter commands to a head-end: the hub's side of docs/head-end-protocol.md,
against the head-end simulator on a real socket, with its faults.

The hub and the simulator share the test's frozen clock, so signatures are fresh
and retries come due when the test moves the clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import START
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.common.passes import Pass
from utilipay.errors import DomainError, ErrorCode
from utilipay.headend import calls, delivery
from utilipay.headend.commands import CommandStatus, MeterCommand, decide, list_commands
from utilipay.headend.config import configure, head_end_of
from utilipay.headend.wire import Action
from utilipay.metrics.service import backlogs
from utilipay.web.server import ServerThread
from utilipay_tools.billersim.app import quiet_dropped_replies
from utilipay_tools.channelsim.auth import HubVerifier
from utilipay_tools.headendsim.app import app_for
from utilipay_tools.headendsim.faults import FaultKind, FaultPlan, Faults
from utilipay_tools.headendsim.meters import Book
from utilipay_tools.headendsim.simulator import HeadEndSim, HeadEndSimConfig

SECRET = "head-end-secret-0123456789"
NEW_SECRET = "head-end-new-secret-0123456789"
ACCOUNT = "0112345678"


@dataclass
class HeadEndWorld:
    engine: AsyncEngine
    clock: FrozenClock
    sim: HeadEndSim
    url: str
    http: httpx.AsyncClient
    biller_id: int

    async def decide(
        self, meter: str = "M-1", action: Action = Action.DISCONNECT, key: str | None = None
    ) -> MeterCommand:
        async with self.engine.begin() as conn:
            return await decide(
                conn,
                self.clock,
                biller_id=self.biller_id,
                meter_id=meter,
                account_no=ACCOUNT,
                action=action,
                decision_key=key or f"{action.value}:{meter}:{self.clock.now().isoformat()}",
                reason="PREPAID_CUT" if action is Action.DISCONNECT else "PREPAID_RESTORED",
            )

    async def deliver(self) -> Pass:
        return await delivery.deliver_due_commands(self.engine, self.clock, self.http)

    async def command(self, command_id: str) -> MeterCommand:
        async with self.engine.connect() as conn:
            found = [c for c in await list_commands(conn) if c.id == command_id]
        assert len(found) == 1
        return found[0]

    async def attempts(self, command_id: str) -> list[Any]:
        async with self.engine.connect() as conn:
            query = text(
                "SELECT attempt, kind, status_code, outcome, detail FROM meter_command_attempts"
                " WHERE command_id = :c ORDER BY attempt"
            )
            return list(await conn.execute(query, {"c": command_id}))

    async def events(self, kind: str) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            query = text("SELECT payload FROM outbox_events WHERE event_type = :k ORDER BY id")
            return [r.payload for r in await conn.execute(query, {"k": kind})]

    def fail_with(self, spec: str) -> None:
        self.sim.faults.plan = FaultPlan.parse(spec)

    def relay(self, meter: str = "M-1") -> str:
        return self.sim.book.meter(meter).relay.value

    def executed(self, meter: str = "M-1") -> list[str]:
        return [e.command_id for e in self.sim.book.meter(meter).history]


@pytest.fixture
def served(clock: FrozenClock) -> Iterator[tuple[HeadEndSim, str]]:
    config = HeadEndSimConfig(
        secret=SECRET,
        timeout_delay=1.5,  # past the hub's total timeout of 0.5 s
        execute_after=30,
        rejected_meters=frozenset({"M-NORELAY"}),
        base="/he",
    )
    sim = HeadEndSim(config, clock, Faults(seed=7))
    quiet_dropped_replies()  # the drop_response fault is no error worth a traceback
    with ServerThread(app_for(sim)) as url:
        yield sim, f"{url}/he"


@pytest.fixture
async def he(
    engine: AsyncEngine,
    clock: FrozenClock,
    world: dict[str, Any],
    served: tuple[HeadEndSim, str],
) -> AsyncIterator[HeadEndWorld]:
    sim, url = served
    async with engine.begin() as conn:
        head_end = await configure(
            conn, clock, "BJWATER", url=url, secret=SECRET, connect_timeout=0.5,
            total_timeout=0.5, give_up_after=timedelta(minutes=10), actor="test",
        )  # fmt: skip
    http = delivery.http_client()
    yield HeadEndWorld(engine, clock, sim, url, http, head_end.biller_id)
    await http.aclose()


async def test_a_command_is_delivered_executed_and_announced(he: HeadEndWorld) -> None:
    decided = await he.decide()
    assert (decided.status, decided.sequence, decided.attempts) == (CommandStatus.PENDING, 1, 0)
    done = await he.deliver()
    assert (done.attempted, done.results) == (1, {"executed": 1})
    command = await he.command(decided.id)
    assert (command.status, command.relay, command.executed_at) == (
        CommandStatus.EXECUTED, "disconnected", START,
    )  # fmt: skip
    assert command.next_attempt_at is None and command.finished_at == START
    assert [tuple(a) for a in await he.attempts(decided.id)] == [(1, "send", 200, "EXECUTED", None)]
    (event,) = await he.events("meter.disconnected")
    assert event == {
        "biller_id": he.biller_id, "account_no": ACCOUNT, "meter_id": "M-1",
        "command_id": decided.id, "action": "disconnect", "sequence": 1,
        "reason": "PREPAID_CUT", "at": "2026-11-22T15:30:00+08:00",
    }  # fmt: skip
    assert he.relay() == "disconnected"
    assert (await he.deliver()).attempted == 0  # nothing left to do


async def test_one_decision_is_one_command_whatever_happens(he: HeadEndWorld) -> None:
    first = await he.decide(key="cut:0112345678:1:M-1")
    again = await he.decide(key="cut:0112345678:1:M-1")
    assert again == first
    with pytest.raises(DomainError) as conflict:
        await he.decide(action=Action.RECONNECT, key="cut:0112345678:1:M-1")
    assert conflict.value.code is ErrorCode.IDEMPOTENCY_CONFLICT
    with pytest.raises(DomainError) as malformed:
        await he.decide(meter="M 1", key="k")
    assert malformed.value.detail.startswith("meter id 'M 1' must match")
    async with he.engine.begin() as conn:
        other = await billers_service.add_biller(
            conn, he.clock, code="BJGAS", name="北京燃气", category=Category.GAS,
            mode=IntegrationMode.HOSTED, account_rule=r"[0-9]{10}", actor="test",
        )  # fmt: skip
        with pytest.raises(DomainError) as no_head_end:
            await decide(
                conn, he.clock, biller_id=other.id, meter_id="G-1", account_no=ACCOUNT,
                action=Action.DISCONNECT, decision_key="cut:1", reason="PREPAID_CUT",
            )  # fmt: skip
    assert no_head_end.value.detail.endswith(
        "has no head-end (utilipay head-end set): no meter commands"
    )
    async with he.engine.connect() as conn:
        assert len(await list_commands(conn)) == 1


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        (FaultKind.TIMEOUT, "no answer within 0.5 s"),
        (FaultKind.DROP_RESPONSE, "RemoteProtocolError"),
        (FaultKind.BAD_SIGNATURE, "the answer's signature does not verify"),
        (FaultKind.ERROR, "HTTP 503"),
    ],
)
async def test_an_unknown_outcome_is_sent_again_with_the_same_id(
    he: HeadEndWorld, fault: FaultKind, problem: str
) -> None:
    decided = await he.decide()
    he.sim.faults.script(fault)
    done = await he.deliver()
    assert list(done.results) == ["retry"]
    command = await he.command(decided.id)
    assert command.status is CommandStatus.SENT
    assert command.detail is not None and problem in command.detail
    # the webhooks' backoff: the first retry 2.5 to 5 s later
    assert command.next_attempt_at is not None
    assert timedelta(seconds=2.5) <= command.next_attempt_at - START <= timedelta(seconds=5)
    assert (await he.deliver()).attempted == 0  # not due yet
    assert await he.events("meter.disconnected") == []  # nothing believed yet

    he.clock.advance(timedelta(seconds=5))
    assert (await he.deliver()).results == {"executed": 1}
    assert (await he.command(decided.id)).status is CommandStatus.EXECUTED
    outcomes = [(a.kind, a.outcome) for a in await he.attempts(decided.id)]
    assert outcomes == [("send", "UNANSWERED"), ("send", "EXECUTED")]
    acted_on = 0 if fault is FaultKind.ERROR else 1
    assert he.sim.book.received(decided.id) == 1 + acted_on
    assert he.executed() == [decided.id]  # one id, executed once
    assert len(await he.events("meter.disconnected")) == 1


async def test_an_accepted_command_is_asked_about_until_executed(he: HeadEndWorld) -> None:
    decided = await he.decide()
    he.sim.faults.script(FaultKind.ACCEPT_ONLY)
    assert (await he.deliver()).results == {"accepted": 1}
    command = await he.command(decided.id)
    assert (command.status, command.relay) == (CommandStatus.ACCEPTED, "connected")
    he.clock.advance(timedelta(seconds=10))
    assert (await he.deliver()).results == {"accepted": 1}  # asked: not yet
    he.clock.advance(timedelta(seconds=60))
    assert (await he.deliver()).results == {"executed": 1}
    command = await he.command(decided.id)
    assert command.executed_at == START + timedelta(seconds=30)  # when the relay switched
    kinds = [(a.kind, a.outcome) for a in await he.attempts(decided.id)]
    assert kinds == [("send", "ACCEPTED"), ("ask", "ACCEPTED"), ("ask", "EXECUTED")]
    assert he.sim.book.received(decided.id) == 1


async def test_a_head_end_that_lost_an_accepted_command_gets_it_again(he: HeadEndWorld) -> None:
    """The GET answers 404 (a head-end restarted without its records): the command is sent
    again at once, with its id."""
    decided = await he.decide()
    he.sim.faults.script(FaultKind.ACCEPT_ONLY)
    await he.deliver()
    he.sim.book = Book(he.clock, timedelta(seconds=30), frozenset())  # restarted, empty
    he.clock.advance(timedelta(seconds=10))
    assert (await he.deliver()).results == {"not received": 1}
    assert (await he.deliver()).results == {"executed": 1}
    outcomes = [(a.kind, a.outcome) for a in await he.attempts(decided.id)]
    assert outcomes == [("send", "ACCEPTED"), ("ask", "NOT_RECEIVED"), ("send", "EXECUTED")]


async def test_a_meter_without_a_relay_rejects_for_good(he: HeadEndWorld) -> None:
    decided = await he.decide(meter="M-NORELAY")
    assert (await he.deliver()).results == {"rejected": 1}
    command = await he.command(decided.id)
    assert command.detail == "NOT_SWITCHABLE: the meter has no remotely switched relay"
    (failed,) = await he.events("meter.command_failed")
    assert (failed["status"], failed["command_id"]) == ("REJECTED", decided.id)


# ---------------------------------------------------------------- ordering


async def test_a_reconnect_is_never_lost_behind_an_earlier_disconnect(he: HeadEndWorld) -> None:
    """The disconnect's first send is lost (503); the customer tops up; the reconnect is
    decided. The disconnect is never sent again, only asked about: never received, so
    SUPERSEDED. Delivered late all the same (a packet held in the network), it is STALE."""
    disconnect = await he.decide(action=Action.DISCONNECT)
    he.sim.faults.script(FaultKind.ERROR)
    assert (await he.deliver()).results == {"retry": 1}
    reconnect = await he.decide(action=Action.RECONNECT)
    assert (disconnect.sequence, reconnect.sequence) == (1, 2)

    he.clock.advance(timedelta(seconds=5))
    assert (await he.deliver()).results == {"executed": 1, "superseded": 1}
    assert he.relay() == "connected"
    assert he.executed() == [reconnect.id]
    assert [(a.kind, a.outcome) for a in await he.attempts(disconnect.id)] == [
        ("send", "UNANSWERED"), ("ask", "NOT_RECEIVED"),
    ]  # fmt: skip
    assert he.sim.book.received(disconnect.id) == 0
    superseded = await he.command(disconnect.id)
    assert superseded.status is CommandStatus.SUPERSEDED

    head_end = await _head_end(he)
    late = await calls.send(he.http, head_end, disconnect, he.clock.now())
    assert late.answer is not None and late.answer.status.value == "STALE"
    assert he.relay() == "connected"


async def test_a_disconnect_sent_but_unanswered_cannot_undo_a_later_reconnect(
    he: HeadEndWorld,
) -> None:
    """The disconnect reached the head-end, accepted but not yet executed; the reconnect
    overtakes it: executed at once, and the disconnect is found STALE when it comes due."""
    disconnect = await he.decide(action=Action.DISCONNECT)
    he.sim.faults.script(FaultKind.ACCEPT_ONLY)
    await he.deliver()
    reconnect = await he.decide(action=Action.RECONNECT)
    he.clock.advance(timedelta(seconds=10))
    assert (await he.deliver()).results == {"executed": 1, "accepted": 1}
    he.clock.advance(timedelta(seconds=60))
    assert (await he.deliver()).results == {"stale": 1}
    assert (await he.command(disconnect.id)).status is CommandStatus.STALE
    assert (await he.command(reconnect.id)).status is CommandStatus.EXECUTED
    assert he.relay() == "connected" and he.executed() == [reconnect.id]
    assert await he.events("meter.disconnected") == []


async def test_a_command_decided_before_it_was_sent_is_superseded_unsent(
    he: HeadEndWorld,
) -> None:
    disconnect = await he.decide(action=Action.DISCONNECT)
    reconnect = await he.decide(action=Action.RECONNECT)
    assert (await he.command(disconnect.id)).status is CommandStatus.SUPERSEDED
    assert (await he.deliver()).results == {"executed": 1}
    assert he.sim.book.received(disconnect.id) == 0
    assert he.executed() == [reconnect.id]
    # and a cut decided after the reconnect is executed after it: its sequence is higher
    cut_again = await he.decide(action=Action.DISCONNECT, key="the next cut")
    assert cut_again.sequence == 3
    await he.deliver()
    assert he.relay() == "disconnected"


# ---------------------------------------------------------------- give-up, secrets


async def test_a_disconnect_is_given_up_a_reconnect_never_is(he: HeadEndWorld) -> None:
    disconnect = await he.decide(meter="M-1", action=Action.DISCONNECT)
    reconnect = await he.decide(meter="M-2", action=Action.RECONNECT)
    he.fail_with("error=1")  # the head-end is down
    for _ in range(16):  # 16 minutes: past the give-up time of 10 and one more retry
        await he.deliver()
        he.clock.advance(timedelta(minutes=1))
    failed = await he.command(disconnect.id)
    assert failed.status is CommandStatus.FAILED
    assert failed.detail is not None and failed.detail.startswith(
        "not acknowledged after 0:10:00: HTTP 503"
    )
    (event,) = await he.events("meter.command_failed")
    assert (event["command_id"], event["status"]) == (disconnect.id, "FAILED")

    late = await he.command(reconnect.id)
    assert late.status is CommandStatus.SENT and late.overdue_at is not None
    (overdue,) = await he.events("meter.command_overdue")  # told once, however long it takes
    assert overdue["command_id"] == reconnect.id
    async with he.engine.connect() as conn:  # and the operators' dashboard shows the payer
        waiting = (await backlogs(conn, he.clock.now())).queues["meter_reconnects_overdue"]
    assert (waiting.items, waiting.oldest_seconds) == (1, 16 * 60)

    he.fail_with("")  # back up
    he.clock.advance(timedelta(minutes=5))  # retries are never more than 5 minutes apart
    assert (await he.deliver()).results == {"executed": 1}
    assert he.relay("M-2") == "connected" and he.relay("M-1") == "connected"
    assert he.sim.book.received(disconnect.id) == 0


async def test_requests_with_the_wrong_secret_are_refused_and_a_rotation_works(
    he: HeadEndWorld,
) -> None:
    async with he.engine.begin() as conn:
        await configure(conn, he.clock, "BJWATER", secret="not-the-head-ends-secret", actor="test")
    decided = await he.decide()
    assert (await he.deliver()).results == {"retry": 1}
    ((_, _, status, outcome, detail),) = await he.attempts(decided.id)
    assert (status, outcome) == (401, "UNANSWERED")
    assert "HTTP 401" in detail and "the request is not signed" in detail
    assert he.relay() == "connected"

    # the head-end moves to a new secret, keeping the old one for the switch-over
    he.sim.config = replace(he.sim.config, secret=NEW_SECRET, previous_secret=SECRET)
    he.sim.verifier = HubVerifier(NEW_SECRET, SECRET, he.clock)
    async with he.engine.begin() as conn:
        await configure(conn, he.clock, "BJWATER", secret=SECRET, actor="test")
        rotated = await configure(conn, he.clock, "BJWATER", secret=NEW_SECRET, actor="test")
    assert rotated.accepted_secrets == (NEW_SECRET, SECRET)
    he.clock.advance(timedelta(seconds=5))
    assert (await he.deliver()).results == {"executed": 1}
    async with he.engine.begin() as conn:
        retired = await configure(
            conn, he.clock, "BJWATER", retire_previous_secret=True, actor="test"
        )
    assert retired.accepted_secrets == (NEW_SECRET,)
    assert NEW_SECRET not in repr(retired)


async def test_head_end_settings_are_checked(he: HeadEndWorld) -> None:
    async def refused(**changes: Any) -> str:
        async with he.engine.begin() as conn:
            with pytest.raises(DomainError) as refusal:
                await configure(conn, he.clock, changes.pop("biller", "BJWATER"), actor="t",
                                **changes)  # fmt: skip
        return refusal.value.detail

    assert await refused(url="http://head-end.example.com") == (
        "head-end URL 'http://head-end.example.com' must be an https:// URL "
        "(http:// only on loopback)"
    )
    assert await refused(secret="short") == "a head-end secret needs at least 16 characters"
    assert await refused(connect_timeout=5.0, total_timeout=2.0) == (
        "the connect timeout (5 s) exceeds the total timeout (2 s)"
    )
    assert await refused(biller="NOPE") == "no biller NOPE"
    async with he.engine.begin() as conn:
        await billers_service.add_biller(
            conn, he.clock, code="BJGAS", name="北京燃气", category=Category.GAS,
            mode=IntegrationMode.HOSTED, account_rule=r"[0-9]{10}", actor="test",
        )  # fmt: skip
    assert await refused(biller="BJGAS", url="https://he.example.com") == (
        "a head-end is configured first with its URL and secret"
    )


async def _head_end(he: HeadEndWorld) -> Any:
    async with he.engine.connect() as conn:
        return await head_end_of(conn, he.biller_id)


# ---------------------------------------------------------------- concurrency


async def test_concurrent_passes_make_each_attempt_once(he: HeadEndWorld) -> None:
    """Four passes at once on their own connections: every command claimed by one of them."""
    async with he.engine.begin() as conn:
        # up to 64 calls at once wait for the client's pool and a head-end served by one
        # thread; the world's 0.5 s (pool wait included) ran out on a busy CI machine (15 of
        # 24 executed, the rest retries), and a timeout is not what this test is about
        await configure(
            conn, he.clock, "BJWATER", connect_timeout=5.0, total_timeout=10.0, actor="test"
        )
    decided = [await he.decide(meter=f"M-{n}") for n in range(24)]
    passes = await asyncio.gather(*(he.deliver() for _ in range(4)))
    assert sum(p.results.get("executed", 0) for p in passes) == 24
    for command in decided:
        assert he.sim.book.received(command.id) == 1
        assert len(await he.attempts(command.id)) == 1


async def test_concurrent_deciders_get_one_command_and_ordered_sequences(
    he: HeadEndWorld,
) -> None:
    same = await asyncio.gather(*(he.decide(key="cut:0112345678:1:M-1") for _ in range(8)))
    assert len({c.id for c in same}) == 1
    actions = [Action.RECONNECT, Action.DISCONNECT] * 4
    others = await asyncio.gather(
        *(he.decide(action=a, key=f"k{n}") for n, a in enumerate(actions))
    )
    async with he.engine.connect() as conn:
        commands = await list_commands(conn)
        last = (await conn.execute(text("SELECT last_sequence FROM meter_sequences"))).scalar()
    assert len(commands) == 9
    sequences = sorted(c.sequence for c in others)
    assert len(set(sequences)) == 8 and last is not None and max(sequences) <= last
    # the last decided supersedes every earlier unsent one: one left to send
    open_ = [c for c in commands if c.status is CommandStatus.PENDING]
    assert [c.sequence for c in open_] == [max(c.sequence for c in commands)]


async def test_a_claim_whose_worker_died_is_taken_again_after_its_lease(
    he: HeadEndWorld,
) -> None:
    decided = await he.decide()
    claim = await delivery._claim(he.engine, he.clock, he.biller_id, decided.id)
    assert claim is not None  # ... and the worker is killed before it calls
    assert (await he.deliver()).attempted == 0  # leased: not due
    he.clock.advance(timedelta(seconds=0.5 + 30))
    assert (await he.deliver()).results == {"executed": 1}
    command = await he.command(decided.id)
    assert command.attempts == 2
    assert [a.attempt for a in await he.attempts(decided.id)] == [2]
