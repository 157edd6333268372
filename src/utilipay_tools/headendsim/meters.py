"""The head-end's book: meters with their relays, and every command received.

- Any meter id is known; a meter starts connected.
- ``command_id`` is the idempotency key: the first request decides what becomes
  of a command; every later one with the same content is answered from the
  record, never acted on again (a different content is a conflict, 409).
- The sequence rule: a command is executed only if its sequence is above every
  sequence the meter has executed or accepted; otherwise it is STALE. So a
  disconnect decided before a reconnect, however late it arrives, never undoes it.
- An ACCEPTED command (the ``accept_only`` fault) is executed ``execute_after``
  later, by the book's clock; it is settled whenever its meter is next looked at,
  and the sequence rule is applied again then.

One lock guards the book: requests arrive on the server's thread, tests read it from theirs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from utilipay.clock import SHANGHAI, Clock, to_shanghai_iso
from utilipay.errors import DomainError, ErrorCode
from utilipay.headend.wire import Acknowledgement, AckStatus, Action, CommandRequest, Relay

NOT_SWITCHABLE = "NOT_SWITCHABLE: the meter has no remotely switched relay"


@dataclass(frozen=True, slots=True)
class Executed:
    command_id: str
    action: Action
    sequence: int
    executed_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "command_id": self.command_id,
            "action": self.action.value,
            "sequence": self.sequence,
            "executed_at": to_shanghai_iso(self.executed_at),
        }


@dataclass(frozen=True, slots=True)
class MeterView:
    meter_id: str
    relay: Relay
    last_sequence: int  # the highest sequence executed, 0 for none
    history: tuple[Executed, ...]  # in the order executed

    def to_json(self) -> dict[str, Any]:
        return {
            "meter_id": self.meter_id,
            "relay": self.relay.value,
            "last_sequence": self.last_sequence,
            "history": [e.to_json() for e in self.history],
        }


@dataclass(slots=True)
class _Record:
    request: CommandRequest
    status: AckStatus
    received: int = 1
    execute_at: datetime | None = None  # ACCEPTED: when it is due to be executed
    executed_at: datetime | None = None
    detail: str | None = None


@dataclass(slots=True)
class _Meter:
    relay: Relay = Relay.CONNECTED
    last_executed: int = 0
    pending: dict[str, _Record] = field(default_factory=dict)  # ACCEPTED, not yet executed
    history: list[Executed] = field(default_factory=list)

    def highest(self) -> int:
        return max([self.last_executed, *(r.request.sequence for r in self.pending.values())])


class Book:
    def __init__(
        self, clock: Clock, execute_after: timedelta, rejected_meters: frozenset[str]
    ) -> None:
        self._clock = clock
        self._execute_after = execute_after
        self._rejected = rejected_meters
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}
        self._meters: dict[str, _Meter] = {}

    def submit(self, request: CommandRequest, *, accept_only: bool = False) -> Acknowledgement:
        """Take a command: act on it the first time, answer from the record after."""
        with self._lock:
            now = self._clock.now()
            meter = self._settled(request.meter_id, now)
            record = self._records.get(request.command_id)
            if record is not None:
                if record.request != request:
                    raise DomainError(
                        ErrorCode.IDEMPOTENCY_CONFLICT,
                        f"command {request.command_id} was received with other content",
                    )
                record.received += 1
                return self._answer(record, meter)
            record = self._records[request.command_id] = self._take(
                request, meter, now, accept_only
            )
            return self._answer(record, meter)

    def look_up(self, command_id: str) -> Acknowledgement | None:
        with self._lock:
            record = self._records.get(command_id)
            if record is None:
                return None
            meter = self._settled(record.request.meter_id, self._clock.now())
            return self._answer(record, meter)

    def meter(self, meter_id: str) -> MeterView:
        with self._lock:
            meter = self._settled(meter_id, self._clock.now())
            return MeterView(meter_id, meter.relay, meter.last_executed, tuple(meter.history))

    def received(self, command_id: str) -> int:
        """How many times the command arrived (0: never)."""
        with self._lock:
            record = self._records.get(command_id)
            return record.received if record else 0

    def _take(
        self, request: CommandRequest, meter: _Meter, now: datetime, accept_only: bool
    ) -> _Record:
        record = _Record(request, AckStatus.ACCEPTED)
        if request.meter_id in self._rejected:
            record.status, record.detail = AckStatus.REJECTED, NOT_SWITCHABLE
        elif request.sequence <= meter.highest():
            record.status, record.detail = AckStatus.STALE, _stale(request, meter.highest())
        elif accept_only:
            record.execute_at = now + self._execute_after
            meter.pending[request.command_id] = record
        else:
            _execute(meter, record, now)
        return record

    def _settled(self, meter_id: str, now: datetime) -> _Meter:
        """The meter, with its accepted commands that are due executed (or found stale)."""
        meter = self._meters.setdefault(meter_id, _Meter())
        due = [r for r in meter.pending.values() if r.execute_at and r.execute_at <= now]
        for record in sorted(due, key=lambda r: (r.execute_at, r.request.sequence)):
            del meter.pending[record.request.command_id]
            if record.request.sequence > meter.last_executed:
                _execute(meter, record, record.execute_at or now)
            else:
                record.status = AckStatus.STALE
                record.detail = _stale(record.request, meter.last_executed)
        return meter

    @staticmethod
    def _answer(record: _Record, meter: _Meter) -> Acknowledgement:
        request = record.request
        return Acknowledgement(
            command_id=request.command_id,
            meter_id=request.meter_id,
            sequence=request.sequence,
            status=record.status,
            relay=meter.relay,
            executed_at=record.executed_at and record.executed_at.astimezone(SHANGHAI),
            detail=record.detail,
        )


def _execute(meter: _Meter, record: _Record, at: datetime) -> None:
    request = record.request
    meter.relay = Relay.CONNECTED if request.action is Action.RECONNECT else Relay.DISCONNECTED
    meter.last_executed = request.sequence
    meter.history.append(Executed(request.command_id, request.action, request.sequence, at))
    record.status, record.executed_at = AckStatus.EXECUTED, at


def _stale(request: CommandRequest, highest: int) -> str:
    return f"sequence {request.sequence} is not above {highest}, already taken for the meter"
