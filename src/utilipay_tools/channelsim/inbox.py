"""What the hub told the channel: payment webhooks (§7) and notifications for payers (§10).

Deliveries are at least once, so a message is kept once per ``type`` plus
``data.id`` (as §7 tells a channel to dedupe); a redelivery is acknowledged and
counted. A notification names its payer (``data.payer``); the payment object
of a webhook names none, so payment messages are found by ``data.order_id``
(and by payer too, should a later version of the object carry one).

To show the hub's retries, the inbox can refuse the next N deliveries as a
channel that is down would (the app answers them 503).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from utilipay.clock import Clock, to_shanghai_iso
from utilipay.errors import DomainError, ErrorCode

NOTIFICATION = "notification"


class Envelope(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    type: Annotated[StrictStr, Field(pattern=r"^[a-z_.]{1,64}$")]
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Message:
    type: str
    id: str
    payer: str | None
    order_id: str | None
    data: dict[str, Any]
    received_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "data": self.data,
            "received_at": to_shanghai_iso(self.received_at),
        }


def _optional_text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"data.{name} must be a non-empty string")
    return value


def _required_text(data: dict[str, Any], name: str) -> str:
    value = _optional_text(data, name)
    if value is None:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"data.{name} is required")
    return value


@dataclass(frozen=True, slots=True)
class Delivered:
    """Counts of the deliveries that reached the inbox."""

    accepted: int  # kept as new messages
    redelivered: int  # acknowledged, already kept
    refused: int  # answered as a channel that is down


class Inbox:
    def __init__(self, clock: Clock, fail_first: int = 0) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._messages: dict[tuple[str, str], Message] = {}
        self._to_refuse = fail_first
        self._redelivered = 0
        self._refused = 0

    def fail_next(self, deliveries: int) -> None:
        """Refuse the next ``deliveries`` deliveries (in place of any still pending)."""
        if deliveries < 0:
            raise ValueError(f"deliveries to refuse must be 0 or more, not {deliveries}")
        with self._lock:
            self._to_refuse = deliveries

    def refuse_this_one(self) -> bool:
        """Whether this delivery is to be refused (one of the next N)."""
        with self._lock:
            if self._to_refuse == 0:
                return False
            self._to_refuse -= 1
            self._refused += 1
            return True

    def keep(self, envelope: Envelope) -> Message:
        data = envelope.data
        message = Message(
            type=envelope.type,
            id=_required_text(data, "id"),
            payer=(
                _required_text(data, "payer")
                if envelope.type == NOTIFICATION
                else _optional_text(data, "payer")
            ),
            order_id=_optional_text(data, "order_id"),
            data=data,
            received_at=self._clock.now(),
        )
        with self._lock:
            kept = self._messages.setdefault((message.type, message.id), message)
            if kept is not message:
                self._redelivered += 1
            return kept

    def messages(self, *, payer: str | None = None, order_id: str | None = None) -> list[Message]:
        """Messages in arrival order, those of ``payer`` / ``order_id`` when given."""
        with self._lock:
            kept = list(self._messages.values())
        return [
            m
            for m in kept
            if (payer is None or m.payer == payer) and (order_id is None or m.order_id == order_id)
        ]

    def delivered(self) -> Delivered:
        with self._lock:
            return Delivered(len(self._messages), self._redelivered, self._refused)
