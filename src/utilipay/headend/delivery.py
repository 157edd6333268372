"""The background pass that delivers meter commands to head-ends, follows them and retries.

One step of one due command, in three parts so no transaction waits on a head-end:

1. claim, in a short transaction: the row is taken with ``FOR UPDATE SKIP LOCKED``
   (another worker skips it), counted as an attempt, marked SENT, and leased
   (due again only after the head-end's total timeout and a margin), then
   committed. Two passes at once therefore never make the same attempt, and a
   worker killed mid-call leaves the command due again when the lease ends.
2. call the head-end, with no database connection held: POST the command
   (PENDING or SENT: sending again is safe, the command id is the head-end's
   idempotency key), or GET it (ACCEPTED: to learn when it is executed).
3. record, in a second transaction: the attempt in ``meter_command_attempts``;
   then, if this step still holds the latest claim, what the answer means:
   EXECUTED (with ``meter.disconnected`` / ``meter.reconnected`` in the outbox),
   STALE, REJECTED (``meter.command_failed``), ACCEPTED (asked again soon), or no
   usable answer (retried with the webhooks' backoff and jitter). A command still
   open once the biller's give-up time has passed since its decision is FAILED,
   with ``meter.command_failed``, so a person can act.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.clock import Clock
from utilipay.common.passes import Pass, work_through
from utilipay.headend import calls
from utilipay.headend.calls import Call
from utilipay.headend.commands import (
    OPEN,
    CommandStatus,
    MeterCommand,
    announce_executed,
    announce_failed,
)
from utilipay.headend.config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_GIVE_UP_AFTER,
    DEFAULT_TOTAL_TIMEOUT,
    HeadEnd,
    head_end_of,
)
from utilipay.headend.tables import meter_command_attempts, meter_commands
from utilipay.headend.wire import Acknowledgement, AckStatus
from utilipay.webhooks.service import backoff

LEASE_MARGIN = timedelta(seconds=30)
ASK_LONGEST = timedelta(minutes=1)  # an ACCEPTED command is asked about at least this often

_DUE = text(
    """
    SELECT biller_id, id FROM meter_commands
     WHERE next_attempt_at <= :now
     ORDER BY next_attempt_at LIMIT :limit
    """
)


@dataclass(frozen=True, slots=True)
class _Claim:
    command: MeterCommand  # as it was when claimed
    head_end: HeadEnd | None  # None: the biller has no head-end configured yet
    attempt: int


def _row(biller_id: int, command_id: str) -> Any:
    return (meter_commands.c.biller_id == biller_id) & (meter_commands.c.id == command_id)


async def _claim(
    engine: AsyncEngine, clock: Clock, biller_id: int, command_id: str
) -> _Claim | None:
    async with engine.begin() as conn:
        now = clock.now()
        row = (
            await conn.execute(
                select(meter_commands)
                .where(
                    _row(biller_id, command_id),
                    meter_commands.c.status.in_(OPEN),
                    meter_commands.c.next_attempt_at <= now,
                )
                .with_for_update(skip_locked=True)
            )
        ).first()
        if row is None:  # another worker has it, or it is no longer due
            return None
        command = MeterCommand.from_row(row._mapping)
        head_end = await head_end_of(conn, biller_id)
        attempt = command.attempts + 1
        lease = timedelta(seconds=head_end.total_timeout if head_end else 0) + LEASE_MARGIN
        await conn.execute(
            update(meter_commands)
            .where(_row(biller_id, command_id))
            .values(
                attempts=attempt,
                # from now on it may have reached the head-end; ACCEPTED stays ACCEPTED
                status=(
                    CommandStatus.SENT
                    if command.status is CommandStatus.PENDING
                    else command.status
                ),
                sent_at=func.coalesce(meter_commands.c.sent_at, now),
                next_attempt_at=now + lease,
            )
        )
        return _Claim(command, head_end, attempt)


async def _talk(http: httpx.AsyncClient, claim: _Claim, now: datetime) -> Call:
    if claim.head_end is None:
        problem = "no head-end is configured for this biller (utilipay head-end configure)"
        return Call("send", "", None, 0, None, problem=problem)
    if claim.command.status is CommandStatus.ACCEPTED:
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


async def _record(engine: AsyncEngine, clock: Clock, claim: _Claim, call: Call) -> str:
    async with engine.begin() as conn:
        now = clock.now()
        key = _row(claim.command.biller_id, claim.command.id)
        row = (await conn.execute(select(meter_commands).where(key).with_for_update())).one()
        await _log(conn, claim, call, now)
        current = MeterCommand.from_row(row._mapping)
        if current.attempts != claim.attempt or current.status not in OPEN:
            # Our lease ran out and a later claim is at work: its answer decides.
            return "overtaken"
        return await _apply(conn, current, claim.head_end, call, now)


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
    conn: AsyncConnection,
    command: MeterCommand,
    head_end: HeadEnd | None,
    call: Call,
    now: datetime,
) -> str:
    answer = call.answer
    if answer is not None and answer.status is not AckStatus.ACCEPTED:
        return await _apply_final(conn, command, answer, now)
    give_up_after = head_end.give_up_after if head_end else DEFAULT_GIVE_UP_AFTER
    if now - command.decided_at >= give_up_after:
        detail = f"given up after {give_up_after}: {call.problem or call.outcome}"
        await announce_failed(conn, command, CommandStatus.FAILED, detail, now)
        return await _finish(conn, command, CommandStatus.FAILED, now, detail=detail)
    if answer is not None:  # ACCEPTED: asked about again soon
        next_at = now + min(backoff(command.attempts), ASK_LONGEST)
        relay = answer.relay.value if answer.relay else None
        await _set(conn, command, status=answer.status, relay=relay, next_attempt_at=next_at)
        return "accepted"
    if call.not_received:  # the head-end lost it, or never got it: send it again at once
        await _set(conn, command, status=CommandStatus.SENT, next_attempt_at=now)
        return "not received"
    await _set(conn, command, next_attempt_at=now + backoff(command.attempts), detail=call.problem)
    return f"retry: {call.problem}"


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
) -> str | None:
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
    return httpx.AsyncClient(
        timeout=httpx.Timeout(DEFAULT_TOTAL_TIMEOUT, connect=DEFAULT_CONNECT_TIMEOUT),
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        follow_redirects=False,
    )
