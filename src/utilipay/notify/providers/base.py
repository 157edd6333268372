"""What a provider is: something that hands a queued message to its recipient.

``send`` returns an ``Outcome`` when the other side answered (acknowledged or
not) and raises when the message could not be handed over at all (a refused
connection, a timeout, an SMTP refusal); the delivery pass logs either and
retries. Providers hold their secrets out of their reprs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from utilipay.notify.schemas import Notification


@dataclass(frozen=True, slots=True)
class Outcome:
    acknowledged: bool
    status_code: int | None = None  # the HTTP status, when there was one
    error: str | None = None


class Provider(Protocol):
    @property
    def name(self) -> str:
        """For the attempt log: ``channel``, ``smtp``, ``sms-gateway``, ``log-file``."""
        ...

    def destination(self, notification: Notification) -> str:
        """Where the message goes (a URL, a server, a file), for the attempt log; no secrets."""
        ...

    async def send(self, notification: Notification, now: datetime) -> Outcome: ...
