"""The background pass that delivers meter commands to head-ends, follows them and retries.

One step of one due command, in three parts so no transaction waits on a head-end:

1. claim, in a short transaction: the row is taken with ``FOR UPDATE SKIP LOCKED``
   (another worker skips it), counted as an attempt, marked SENT, and leased
   (due again only after the head-end's total timeout and a margin), then
   committed. Two passes at once therefore never make the same attempt, and a
   worker killed mid-call leaves the command due again when the lease ends.
2. call the head-end, with no database connection held: POST the command
   (sending again is safe, the command id is the head-end's idempotency key), or
   GET it — when it is ACCEPTED (to learn when it is executed), and when a later
   command for the meter has been decided since: an earlier command is then never
   sent again, only asked about, so it cannot reach the meter after the later one
   (the head-end's sequence rule makes it STALE if it does arrive late).
3. record, in a second transaction: the attempt in ``meter_command_attempts``;
   then, if this step still holds the latest claim, what the answer means:
   EXECUTED (with ``meter.disconnected`` / ``meter.reconnected`` in the outbox),
   STALE, REJECTED (``meter.command_failed``), ACCEPTED (asked again soon), not
   received with a later command decided (SUPERSEDED), or no usable answer
   (retried with the webhooks' backoff and jitter, at most ``RETRY_LONGEST``
   apart). Past the head-end's give-up time since its decision, a disconnect the
   head-end has not acknowledged is FAILED (``meter.command_failed``): a person
   decides, rather than a cut arriving at night. A reconnect is never given up: it
   is flagged overdue once (``meter.command_overdue``) and kept trying.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx
from sqlalchemy import case, exists, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.clock import Clock
from utilipay.common import outgoing
from utilipay.common.leases import claim_due
from utilipay.common.passes import Pass, work_through
from utilipay.headend import calls
from utilipay.headend.calls import Call
from utilipay.headend.commands import (
    OPEN,
    CommandStatus,
    MeterCommand,
    announce_executed,
    announce_failed,
    announce_overdue,
)
from utilipay.headend.config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    HeadEnd,
    head_end_of,
)
from utilipay.headend.tables import meter_command_attempts, meter_commands
from utilipay.headend.wire import FINAL_ACKS, Acknowledgement, AckStatus, Action
from utilipay.webhooks.service import backoff

LEASE_MARGIN = timedelta(seconds=30)
ASK_LONGEST = timedelta(minutes=1)  # an ACCEPTED command is asked about at least this often
RETRY_LONGEST = timedelta(minutes=5)  # a supply command waits no longer between attempts

_DUE = text(
    """
    SELECT biller_id, id FROM meter_commands
     WHERE next_attempt_at <= :now
     ORDER BY next_attempt_at LIMIT :limit
    """
)


class Step(StrEnum):
    """What a step did when the command is not decided by it (a decided one says its
    status, a failed call ``retry: …``); the values are what a pass counts."""

    OVERTAKEN = "overtaken"  # a later claim's answer decides
    ACCEPTED = "accepted"
    NOT_RECEIVED = "not received"


@dataclass(frozen=True, slots=True)
class _Claim:
    command: MeterCommand  # as it was when claimed
    head_end: HeadEnd
    attempt: int
    later_decided: bool  # a command of a higher sequence exists for the meter


def _row(biller_id: int, command_id: str) -> Any:
    return (meter_commands.c.biller_id == biller_id) & (meter_commands.c.id == command_id)


async def _later_decided(conn: AsyncConnection, command: MeterCommand) -> bool:
    later = select(meter_commands.c.id).where(
        meter_commands.c.biller_id == command.biller_id,
        meter_commands.c.meter_id == command.meter_id,
        meter_commands.c.sequence > command.sequence,
    )
    return bool((await conn.execute(select(exists(later)))).scalar_one())


async def _claim(
    engine: AsyncEngine, clock: Clock, biller_id: int, command_id: str
) -> _Claim | None:
    async with engine.begin() as conn:
        now = clock.now()
        head_end = await head_end_of(conn, biller_id)
        if head_end is None:  # meter_commands references head_ends: cannot happen
            raise RuntimeError(f"command {command_id} of biller {biller_id} has no head-end")
        lease = timedelta(seconds=head_end.total_timeout) + LEASE_MARGIN
        row = await claim_due(
            conn,
            meter_commands,
            _row(biller_id, command_id),
            open_statuses=OPEN,
            now=now,
            until=now + lease,
            # from now on it may have reached the head-end; ACCEPTED stays ACCEPTED
            status=case(
                (meter_commands.c.status == CommandStatus.PENDING, CommandStatus.SENT),
                else_=meter_commands.c.status,
            ),
            sent_at=func.coalesce(meter_commands.c.sent_at, now),
        )
        if row is None:  # another worker has it, or it is no longer due
            return None
        command = MeterCommand.from_row(row._mapping)
        return _Claim(command, head_end, command.attempts + 1, await _later_decided(conn, command))


async def _talk(http: httpx.AsyncClient, claim: _Claim, now: datetime) -> Call:
    if claim.command.status is CommandStatus.ACCEPTED or claim.later_decided:
        return await calls.ask(http, claim.head_end, claim.command, now)
    return await calls.send(http, claim.head_end, claim.command, now)


async def _log(conn: AsyncConnection, claim: _Claim, call: Call, now: datetime) -> None:
    await conn.execute(
        insert(meter_command_attempts).values(
            biller_id=claim.command.biller_id,
            command_id=claim.command.id,
            attempt=claim.attempt,
            kind=call.kind,
            at=now,
            url=call.url,
            status_code=call.status_code,
            outcome=call.outcome,
            detail=call.problem or (call.answer.detail if call.answer else None),
            duration_ms=call.duration_ms,
        )
    )


async def _record(engine: AsyncEngine, clock: Clock, claim: _Claim, call: Call) -> Step | str:
    async with engine.begin() as conn:
        now = clock.now()
        key = _row(claim.command.biller_id, claim.command.id)
        row = (await conn.execute(select(meter_commands).where(key).with_for_update())).one()
        await _log(conn, claim, call, now)
        current = MeterCommand.from_row(row._mapping)
        if current.attempts != claim.attempt or current.status not in OPEN:
            # Our lease ran out and a later claim is at work: its answer decides.
            return Step.OVERTAKEN
        return await _apply(conn, current, claim, call, now)


async def _set(conn: AsyncConnection, command: MeterCommand, **values: Any) -> None:
    await conn.execute(
        update(meter_commands).where(_row(command.biller_id, command.id)).values(**values)
    )


async def _finish(
    conn: AsyncConnection,
    command: MeterCommand,
    status: CommandStatus,
    now: datetime,
    **values: Any,
) -> str:
    await _set(conn, command, status=status, next_attempt_at=None, finished_at=now, **values)
    return status.lower()


async def _apply(
    conn: AsyncConnection, command: MeterCommand, claim: _Claim, call: Call, now: datetime
) -> Step | str:
    answer = call.answer
    if answer is not None and answer.status in FINAL_ACKS:
        return await _apply_final(conn, command, answer, now)
    if answer is not None:  # ACCEPTED: the head-end has it; asked about again soon
        next_at = now + min(backoff(claim.attempt), ASK_LONGEST)
        relay = answer.relay.value if answer.relay else None
        await _set(conn, command, status=answer.status, relay=relay, next_attempt_at=next_at)
        return Step.ACCEPTED
    if call.not_received and claim.later_decided:  # it never got there, and never will
        detail = "never received; a later command for the meter was decided"
        return await _finish(conn, command, CommandStatus.SUPERSEDED, now, detail=detail)
    if await _given_up(conn, command, claim.head_end, call, now):
        return CommandStatus.FAILED.lower()
    if call.not_received:  # the head-end lost it, or never got it: send it again at once
        await _set(conn, command, status=CommandStatus.SENT, next_attempt_at=now)
        return Step.NOT_RECEIVED
    delay = min(backoff(claim.attempt), RETRY_LONGEST)
    await _set(conn, command, next_attempt_at=now + delay, detail=call.problem)
    return f"retry: {call.problem}"


async def _given_up(
    conn: AsyncConnection, command: MeterCommand, head_end: HeadEnd, call: Call, now: datetime
) -> bool:
    """Past the give-up time: a disconnect is FAILED (True); a reconnect is flagged overdue
    once and kept trying (False). One the head-end ACCEPTED is its to finish: kept asking."""
    if command.status is CommandStatus.ACCEPTED:
        return False
    if now - command.decided_at < head_end.give_up_after:
        return False
    detail = f"not acknowledged after {head_end.give_up_after}: {call.problem or call.outcome}"
    if command.action is Action.DISCONNECT:
        await announce_failed(conn, command, CommandStatus.FAILED, detail, now)
        await _finish(conn, command, CommandStatus.FAILED, now, detail=detail)
        return True
    if command.overdue_at is None:
        await announce_overdue(conn, command, detail, now)
        await _set(conn, command, overdue_at=now)
    return False


async def _apply_final(
    conn: AsyncConnection, command: MeterCommand, answer: Acknowledgement, now: datetime
) -> str:
    """EXECUTED, STALE or REJECTED: the head-end's word is final."""
    status = CommandStatus(answer.status.value)
    values: dict[str, Any] = {"relay": answer.relay.value if answer.relay else None}
    if answer.status is AckStatus.EXECUTED:
        values["executed_at"] = answer.executed_at or now
        await announce_executed(conn, command, values["executed_at"])
    elif answer.status is AckStatus.REJECTED:
        values["detail"] = answer.detail or "rejected by the head-end"
        await announce_failed(conn, command, status, values["detail"], now)
    else:
        values["detail"] = answer.detail
    return await _finish(conn, command, status, now, **values)


async def deliver_one(
    engine: AsyncEngine, clock: Clock, http: httpx.AsyncClient, biller_id: int, command_id: str
) -> Step | str | None:
    """One step of one command; what happened, or None when it was not ours to take."""
    claim = await _claim(engine, clock, biller_id, command_id)
    if claim is None:
        return None
    call = await _talk(http, claim, clock.now())
    return await _record(engine, clock, claim, call)


async def deliver_due_commands(
    engine: AsyncEngine,
    clock: Clock,
    http: httpx.AsyncClient,
    *,
    limit: int = 500,
    concurrency: int = 16,
) -> Pass:
    """One pass over the meter commands that are due (new, to retry, or to ask about)."""
    async with engine.connect() as conn:
        due = (await conn.execute(_DUE, {"now": clock.now(), "limit": limit})).all()

    async def one(item: Any) -> str | None:
        return await deliver_one(engine, clock, http, item.biller_id, item.id)

    return await work_through(due, one, concurrency=concurrency)


def http_client() -> httpx.AsyncClient:
    """Pooled; each call sets its head-end's own timeouts."""
    return outgoing.http_client(DEFAULT_TOTAL_TIMEOUT, DEFAULT_CONNECT_TIMEOUT)
