"""Response codes of the biller protocol (biller-protocol.md §5)."""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    OK = "0000"
    ACCOUNT_NOT_FOUND = "1001"
    NOTHING_DUE = "1002"
    AMOUNT_MISMATCH = "1003"
    BILL_PAID_BY_OTHER_ORDER = "1004"
    DUPLICATE_ORDER = "2001"  # already written off: success
    ORDER_REVERSED = "2002"
    SIGNATURE_INVALID = "8001"
    MALFORMED = "8002"
    BUSY = "9999"


# A charge answered with one of these did not write the bills off, and never will.
FINAL_CHARGE_FAILURES = frozenset(
    {
        Code.ACCOUNT_NOT_FOUND,
        Code.NOTHING_DUE,
        Code.AMOUNT_MISMATCH,
        Code.BILL_PAID_BY_OTHER_ORDER,
        Code.ORDER_REVERSED,
        Code.SIGNATURE_INVALID,
        Code.MALFORMED,
    }
)


class ProtocolError(Exception):
    """A message we cannot accept; ``code`` is what a receiver answers with."""

    def __init__(self, code: Code, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
