"""problem+json (RFC 9457) bodies for every refusal, with the stable codes of channel-api.md §2."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from utilipay.errors import DomainError, ErrorCode

_STATUS_AND_TITLE: dict[ErrorCode, tuple[int, str]] = {
    ErrorCode.MALFORMED_REQUEST: (400, "Malformed request"),
    ErrorCode.UNAUTHENTICATED: (401, "Not authenticated"),
    ErrorCode.FORBIDDEN: (403, "Forbidden"),
    ErrorCode.VERIFICATION_REQUIRED: (403, "Verify the binding first"),
    ErrorCode.NOT_FOUND: (404, "Not found"),
    ErrorCode.ACCOUNT_NOT_FOUND: (404, "Account not found"),
    ErrorCode.BILLER_NOT_FOUND: (404, "Biller not found"),
    ErrorCode.METHOD_NOT_ALLOWED: (405, "Method not allowed"),
    ErrorCode.IDEMPOTENCY_CONFLICT: (409, "Order id already used for another request"),
    ErrorCode.BILL_ALREADY_PAID: (409, "Bill already paid"),
    ErrorCode.NOT_READY: (409, "Not available yet"),
    ErrorCode.MANDATE_EXISTS: (409, "The account already has an active mandate"),
    ErrorCode.MANDATE_NOT_ACTIVE: (409, "The mandate is cancelled"),
    ErrorCode.BINDING_REQUIRED: (409, "Bind the account first"),
    ErrorCode.FLOAT_INSUFFICIENT: (409, "The outlet's float cannot cover the payment"),
    ErrorCode.VOID_NOT_ALLOWED: (409, "This payment cannot be voided"),
    ErrorCode.TARIFF_REQUIRED: (409, "Assign a tariff first"),
    ErrorCode.METER_REQUIRED: (409, "Register a meter first"),
    ErrorCode.PHONE_REQUIRED: (409, "No phone on record for the account"),
    ErrorCode.PAYLOAD_TOO_LARGE: (413, "Payload too large"),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: (415, "Unsupported media type"),
    ErrorCode.INVALID_ACCOUNT: (422, "Account number is not valid for this biller"),
    ErrorCode.NO_BILL_DUE: (422, "Nothing is due"),
    ErrorCode.AMOUNT_MISMATCH: (422, "Amount does not match"),
    ErrorCode.AMOUNT_OUT_OF_RANGE: (422, "Amount out of range"),
    ErrorCode.VOUCHER_INVALID: (422, "Voucher invalid"),
    ErrorCode.RATE_LIMITED: (429, "Too many requests"),
    ErrorCode.BILLER_UNAVAILABLE: (503, "Biller unavailable"),
    ErrorCode.SERVICE_UNAVAILABLE: (503, "Service unavailable"),
    ErrorCode.INTERNAL_ERROR: (500, "Internal error"),
}

PROBLEM_JSON = "application/problem+json"


def status_of(code: ErrorCode) -> int:
    return _STATUS_AND_TITLE[code][0]


def problem_body(code: ErrorCode, detail: str, extra: dict[str, Any] | None = None) -> bytes:
    status, title = _STATUS_AND_TITLE[code]
    body: dict[str, Any] = {
        "type": f"/problems/{code.lower().replace('_', '-')}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if extra:
        body.update(extra)
    return orjson.dumps(body)


# Refusals a client should retry later say when (RFC 9110 Retry-After, in seconds).
_RETRY_AFTER = {ErrorCode.RATE_LIMITED: 1, ErrorCode.SERVICE_UNAVAILABLE: 5}


def problem(
    code: ErrorCode, detail: str, *, retry_after: int | None = None, **extra: Any
) -> Response:
    wait = retry_after or _RETRY_AFTER.get(code)
    headers = {"Retry-After": str(wait)} if wait else None
    return Response(
        problem_body(code, detail, extra),
        status_code=status_of(code),
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def from_domain(error: DomainError) -> Response:
    return problem(error.code, error.detail, **error.extra)
