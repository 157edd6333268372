from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChannelStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


@dataclass(frozen=True, slots=True)
class Channel:
    id: int
    code: str
    name: str
    secret: str
    previous_secret: str | None
    webhook_url: str | None
    status: ChannelStatus
    receivable_account_id: int
    rate_limit: int | None = None  # requests per second per server process
    debit_url: str | None = None  # where the hub asks for auto-pay debits (channel-api.md §9)

    @property
    def accepted_secrets(self) -> tuple[str, ...]:
        """During a rotation the previous secret is still accepted (channel-api.md §3)."""
        if self.previous_secret:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    def __repr__(self) -> str:  # never print secrets, not even in a traceback
        return f"Channel(code={self.code!r}, status={self.status})"
