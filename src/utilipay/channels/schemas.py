from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChannelStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


class ChannelKind(StrEnum):
    """What kind of partner a channel is: the reports split collection by it, and only an
    ``agent`` channel runs outlets (channel-api.md §11)."""

    WALLET = "wallet"
    BANK = "bank"
    POS = "pos"
    AGENT = "agent"


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
    kind: ChannelKind = ChannelKind.WALLET
    cashier_url: str | None = None  # where the payer pages send a payer to pay (docs/h5.md)
    # origins whose pages may frame the payer pages (CSP frame-ancestors); none: no framing
    frame_ancestors: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        """For ``channels list --json``: never a secret, only how many are accepted."""
        return {"code": self.code, "name": self.name, "kind": self.kind,
                "status": self.status, "webhook_url": self.webhook_url,
                "debit_url": self.debit_url, "rate_limit": self.rate_limit,
                "cashier_url": self.cashier_url, "frame_ancestors": list(self.frame_ancestors),
                "secrets": len(self.accepted_secrets)}  # fmt: skip

    @property
    def accepted_secrets(self) -> tuple[str, ...]:
        """During a rotation the previous secret is still accepted (channel-api.md §3)."""
        if self.previous_secret:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    def __repr__(self) -> str:  # never print secrets, not even in a traceback
        return f"Channel(code={self.code!r}, status={self.status})"
