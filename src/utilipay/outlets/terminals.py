"""A payment taken at a terminal (channel-api.md §11): who took it, with what, and when.

The rules that need no database, checked before a payment touches anything: the
operator (required at counters and collectors, and one of the outlet's active
operators), the tender, and the store-and-forward time, which only a mobile POS may
send, in RFC 3339 with an offset, not in the future and at most 72 hours old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import orjson

from utilipay.errors import DomainError, ErrorCode
from utilipay.outlets.auth import Terminal
from utilipay.outlets.schemas import TerminalType

FORWARD_WINDOW = timedelta(hours=72)
_RFC3339 = "RFC 3339 with an offset, such as 2026-11-22T15:30:00+08:00"


class Tender(StrEnum):
    CASH = "cash"
    CARD = "card"
    VOUCHER = "voucher"


@dataclass(frozen=True, slots=True)
class TerminalPayment:
    """What a terminal adds to a payment; its float pays for it."""

    terminal_id: str
    outlet_id: int
    float_account: int
    operator: str | None
    tender: Tender
    collected_at: datetime | None  # store and forward: when the collector took the money

    def as_json(self) -> str:
        """As the database's ``outlet_payment_record`` reads it (outlets/sql/floats.sql)."""
        return orjson.dumps(
            {
                "outlet_id": self.outlet_id,
                "terminal_id": self.terminal_id,
                "operator": self.operator,
                "tender": self.tender.value,
                "collected_at": self.collected_at.isoformat() if self.collected_at else None,
            }
        ).decode()


def terminal_payment(
    terminal: Terminal,
    operator: str | None,
    tender: Tender,
    collected_at: str | None,
    now: datetime,
) -> TerminalPayment:
    return TerminalPayment(
        terminal_id=terminal.id,
        outlet_id=terminal.outlet_id,
        float_account=terminal.float_account,
        operator=check_operator(terminal, operator),
        tender=tender,
        collected_at=_collected_at(terminal, collected_at, now),
    )


def check_operator(terminal: Terminal, operator: str | None) -> str | None:
    """400 when a counter's or collector's payment names nobody; 403 when it names somebody
    who is not an active operator of the terminal's outlet: the terminal is who it says,
    it may not act as that person."""
    if operator is None:
        if terminal.needs_operator:
            raise DomainError(
                ErrorCode.MALFORMED_REQUEST,
                f"operator: required for a payment at a {terminal.outlet_kind} outlet",
            )
        return None
    if operator not in terminal.operators:
        raise DomainError(
            ErrorCode.FORBIDDEN,
            f"operator {operator} is not an active operator of outlet {terminal.outlet_code}",
        )
    return operator


def _collected_at(terminal: Terminal, value: str | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    if terminal.type is not TerminalType.POS_MOBILE:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"collected_at: only a pos_mobile terminal forwards payments, this is {terminal.type}",
        )
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"collected_at: {value!r} is not {_RFC3339}"
        ) from None
    if at.tzinfo is None or "T" not in value.upper():
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"collected_at: {value!r} is not {_RFC3339}")
    if at > now:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"collected_at: {value} is in the future (the hub's clock says {now.isoformat()})",
        )
    if now - at > FORWARD_WINDOW:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"collected_at: {value} is more than 72 hours old; a payment is forwarded within"
            " 72 hours of its collection",
        )
    return at
