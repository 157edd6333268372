"""Domain errors carry the stable codes of the channel API (channel-api.md §2).

Services raise them; the HTTP layer maps each code to its status and a
problem+json body, the CLI prints them. No HTTP knowledge lives here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    MALFORMED_REQUEST = "MALFORMED_REQUEST"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    VERIFICATION_REQUIRED = "VERIFICATION_REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"
    BILLER_NOT_FOUND = "BILLER_NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    BILL_ALREADY_PAID = "BILL_ALREADY_PAID"
    FLOAT_INSUFFICIENT = "FLOAT_INSUFFICIENT"
    NOT_READY = "NOT_READY"
    MANDATE_EXISTS = "MANDATE_EXISTS"
    MANDATE_NOT_ACTIVE = "MANDATE_NOT_ACTIVE"
    BINDING_REQUIRED = "BINDING_REQUIRED"
    VOID_NOT_ALLOWED = "VOID_NOT_ALLOWED"
    TARIFF_REQUIRED = "TARIFF_REQUIRED"
    METER_REQUIRED = "METER_REQUIRED"
    PHONE_REQUIRED = "PHONE_REQUIRED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    INVALID_ACCOUNT = "INVALID_ACCOUNT"
    NO_BILL_DUE = "NO_BILL_DUE"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    AMOUNT_OUT_OF_RANGE = "AMOUNT_OUT_OF_RANGE"
    VOUCHER_INVALID = "VOUCHER_INVALID"
    RATE_LIMITED = "RATE_LIMITED"
    BILLER_UNAVAILABLE = "BILLER_UNAVAILABLE"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class DomainError(Exception):
    """A refusal with a stable code and a message precise enough to act on."""

    def __init__(self, code: ErrorCode, detail: str, **extra: Any) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.extra = extra
