"""Deciding meter commands: one command per decision, numbered per meter in decision order.

``decide`` runs in the caller's transaction (the one that decided to cut or
restore supply), so the command exists if and only if the decision committed.

- The same decision (``decision_key``) always yields the same command, never a
  second id: it is found before anything is written, and a concurrent twin is
  caught by the unique index and found after it commits.
- A meter's ``sequence`` comes from its row in ``meter_sequences``, updated in
  place: the row lock makes a second decider for the meter wait until the first
  commits, so sequences are distinct and follow the order decisions committed.
  The head-end executes a command only above the last sequence it executed for
  the meter, so an earlier decision delivered late can never undo a later one.
- An earlier command for the meter still PENDING (never sent) is SUPERSEDED: it
  would only be STALE. One already sent is never sent again once a later one is
  decided (``delivery`` only asks about it) and is left to the sequence rule. The
  delivery pass marks a command SENT under the row's lock, so the two never cross.
- Only a biller with a head-end (``config``) has commands: a utility without remote
  switching cuts and reconnects by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock, to_shanghai_iso
from utilipay.errors import DomainError, ErrorCode
from utilipay.headend.config import head_end_of
from utilipay.headend.tables import meter_command_attempts, meter_commands
from utilipay.headend.wire import METER_ID, REASON, Action
from utilipay.ids import new_id
from utilipay.outbox.service import Event, emit


class CommandStatus(StrEnum):
    PENDING = "PENDING"  # decided, never sent
    SENT = "SENT"  # sent at least once, no answer yet
    ACCEPTED = "ACCEPTED"  # the head-end took it and will execute it
    EXECUTED = "EXECUTED"
    REJECTED = "REJECTED"  # the head-end refused it for good
    STALE = "STALE"  # the head-end had executed a later command for the meter
    SUPERSEDED = "SUPERSEDED"  # a later decision came before it was ever sent
    FAILED = "FAILED"  # a disconnect given up: a person must act (a reconnect never is)


OPEN = (CommandStatus.PENDING, CommandStatus.SENT, CommandStatus.ACCEPTED)
EXECUTED_EVENTS = {Action.DISCONNECT: "meter.disconnected", Action.RECONNECT: "meter.reconnected"}
FAILED_EVENT = "meter.command_failed"
OVERDUE_EVENT = "meter.command_overdue"
_DECISION_KEY_MAX = 200


@dataclass(frozen=True, slots=True)
class MeterCommand:
    biller_id: int
    id: str
    meter_id: str
    account_no: str
    action: Action
    sequence: int
    decision_key: str
    reason: str
    status: CommandStatus
    attempts: int
    next_attempt_at: datetime | None
    relay: str | None
    detail: str | None
    decided_at: datetime
    sent_at: datetime | None
    executed_at: datetime | None
    finished_at: datetime | None
    overdue_at: datetime | None  # a reconnect still open after the give-up time

    @classmethod
    def from_row(cls, m: Any) -> MeterCommand:
        values = {f.name: m[f.name] for f in fields(cls)}
        values.update(action=Action(m["action"]), status=CommandStatus(m["status"]))
        return cls(**values)


_NEXT_SEQUENCE = text(
    """
    INSERT INTO meter_sequences AS s (biller_id, meter_id, last_sequence) VALUES (:b, :m, 1)
    ON CONFLICT (biller_id, meter_id) DO UPDATE SET last_sequence = s.last_sequence + 1
    RETURNING last_sequence
    """
)


def _check(meter_id: str, account_no: str, decision_key: str, reason: str) -> None:
    problems = []
    if not re.fullmatch(METER_ID, meter_id):  # it goes into the head-end's URLs
        problems.append(f"meter id {meter_id!r} must match {METER_ID}")
    if not re.fullmatch(REASON, reason):
        problems.append(f"reason {reason!r} must match {REASON}")
    if not account_no:
        problems.append("the account number is empty")
    if not 0 < len(decision_key) <= _DECISION_KEY_MAX:
        problems.append(f"the decision key must be 1-{_DECISION_KEY_MAX} characters")
    if problems:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "; ".join(problems))


async def _by_decision(conn: AsyncConnection, biller_id: int, key: str) -> MeterCommand | None:
    row = (
        await conn.execute(
            select(meter_commands).where(
                meter_commands.c.biller_id == biller_id, meter_commands.c.decision_key == key
            )
        )
    ).first()
    return MeterCommand.from_row(row._mapping) if row else None


def _same_decision(found: MeterCommand, meter_id: str, account_no: str, action: Action) -> None:
    if (found.meter_id, found.account_no, found.action) != (meter_id, account_no, action):
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            f"decision {found.decision_key!r} is command {found.id}: {found.action} of meter "
            f"{found.meter_id} for account {found.account_no}, not {action} of {meter_id}",
        )


async def decide(
    conn: AsyncConnection,
    clock: Clock,
    *,
    biller_id: int,
    meter_id: str,
    account_no: str,
    action: Action,
    decision_key: str,
    reason: str,
) -> MeterCommand:
    """The command for this decision: the one already made for ``decision_key``, or a new
    one, PENDING, with the meter's next sequence (in the caller's transaction)."""
    action = Action(action)
    _check(meter_id, account_no, decision_key, reason)
    if await head_end_of(conn, biller_id) is None:
        raise DomainError(
            ErrorCode.NOT_FOUND,
            f"biller {biller_id} has no head-end (utilipay head-end set): no meter commands",
        )
    found = await _by_decision(conn, biller_id, decision_key)
    if found is None:
        found = await _insert(
            conn, clock, biller_id, meter_id, account_no, action, decision_key, reason
        )
    _same_decision(found, meter_id, account_no, action)
    return found


async def _insert(
    conn: AsyncConnection,
    clock: Clock,
    biller_id: int,
    meter_id: str,
    account_no: str,
    action: Action,
    decision_key: str,
    reason: str,
) -> MeterCommand:
    now = clock.now()
    sequence: int = (
        await conn.execute(_NEXT_SEQUENCE, {"b": biller_id, "m": meter_id})
    ).scalar_one()
    row = (
        await conn.execute(
            pg_insert(meter_commands)
            .values(
                biller_id=biller_id,
                id=new_id("C"),
                meter_id=meter_id,
                account_no=account_no,
                action=action.value,
                sequence=sequence,
                decision_key=decision_key,
                reason=reason,
                status=CommandStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                decided_at=now,
            )
            .on_conflict_do_nothing(index_elements=["biller_id", "decision_key"])
            .returning(meter_commands)
        )
    ).first()
    if row is None:  # the same decision, made concurrently, committed first (a gap is harmless)
        twin = await _by_decision(conn, biller_id, decision_key)
        assert twin is not None  # noqa: S101  # the conflict was with a committed row
        return twin
    command = MeterCommand.from_row(row._mapping)
    await _supersede_unsent(conn, command, now)
    return command


async def _supersede_unsent(conn: AsyncConnection, newer: MeterCommand, now: datetime) -> None:
    await conn.execute(
        update(meter_commands)
        .where(
            meter_commands.c.biller_id == newer.biller_id,
            meter_commands.c.meter_id == newer.meter_id,
            meter_commands.c.status == CommandStatus.PENDING,
            meter_commands.c.sequence < newer.sequence,
        )
        .values(
            status=CommandStatus.SUPERSEDED,
            next_attempt_at=None,
            finished_at=now,
            detail=f"superseded by {newer.id} (sequence {newer.sequence})",
        )
    )


# ------------------------------------------------------------ events


def _event(command: MeterCommand, event_type: str, at: datetime, **extra: Any) -> Event:
    payload = {
        "biller_id": command.biller_id,
        "account_no": command.account_no,
        "meter_id": command.meter_id,
        "command_id": command.id,
        "action": command.action.value,
        "sequence": command.sequence,
        "reason": command.reason,
        "at": to_shanghai_iso(at),
        **extra,
    }
    return Event(command.biller_id, event_type, command.id, payload, at)


async def announce_executed(conn: AsyncConnection, command: MeterCommand, at: datetime) -> None:
    """``meter.disconnected`` / ``meter.reconnected``, ``at`` the instant the relay switched."""
    await emit(conn, [_event(command, EXECUTED_EVENTS[command.action], at)])


async def announce_failed(
    conn: AsyncConnection, command: MeterCommand, status: CommandStatus, detail: str, at: datetime
) -> None:
    """``meter.command_failed``: REJECTED by the head-end or FAILED (given up)."""
    await emit(conn, [_event(command, FAILED_EVENT, at, status=status.value, detail=detail)])


async def announce_overdue(
    conn: AsyncConnection, command: MeterCommand, detail: str, at: datetime
) -> None:
    """``meter.command_overdue``: a reconnect still not done after the give-up time (once)."""
    await emit(conn, [_event(command, OVERDUE_EVENT, at, detail=detail)])


# ------------------------------------------------------------ for operators


async def list_commands(
    conn: AsyncConnection,
    *,
    biller_id: int | None = None,
    status: CommandStatus | None = None,
    limit: int = 100,
    billers: frozenset[int] | None = None,
    decided: tuple[datetime | None, datetime | None] = (None, None),
) -> list[MeterCommand]:
    """The latest commands first, of one biller and status when given, of the ``billers``
    a person may see, decided within ``[since, until)``."""
    c = meter_commands.c
    query = select(meter_commands).order_by(c.decided_at.desc(), c.id).limit(limit)
    if biller_id is not None:
        query = query.where(c.biller_id == biller_id)
    if status is not None:
        query = query.where(c.status == status)
    if billers is not None:
        query = query.where(c.biller_id.in_(billers))
    since, until = decided
    if since is not None:
        query = query.where(c.decided_at >= since)
    if until is not None:
        query = query.where(c.decided_at < until)
    return [MeterCommand.from_row(r._mapping) for r in await conn.execute(query)]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One call to the head-end about a command, and what it answered."""

    attempt: int
    kind: str  # send, or ask (its status)
    at: datetime
    status_code: int | None
    outcome: str
    detail: str | None
    duration_ms: int


async def attempts_of(
    conn: AsyncConnection, commands: list[MeterCommand]
) -> dict[tuple[int, str], list[Attempt]]:
    """The attempts of each of ``commands``, keyed by (biller id, command id), in order."""
    a = meter_command_attempts.c
    keys = [(m.biller_id, m.id) for m in commands]
    found: dict[tuple[int, str], list[Attempt]] = {key: [] for key in keys}
    if not keys:
        return found
    rows = await conn.execute(
        select(meter_command_attempts)
        .where(tuple_(a.biller_id, a.command_id).in_(keys))
        .order_by(a.biller_id, a.command_id, a.attempt)
    )
    for r in rows:
        found[(r.biller_id, r.command_id)].append(
            Attempt(r.attempt, r.kind, r.at, r.status_code, r.outcome, r.detail, r.duration_ms)
        )
    return found
