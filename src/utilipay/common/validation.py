"""Small shared checks for codes and URLs given by operators."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from urllib.parse import urlsplit

from utilipay.clock import SHANGHAI
from utilipay.errors import DomainError, ErrorCode

_CODE = re.compile(r"[A-Z0-9_]{2,32}")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
# Text fields refuse control characters: PostgreSQL cannot store NUL, and none belong in a name.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None


def check_code(kind: str, code: str) -> str:
    if not _CODE.fullmatch(code):
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"{kind} code {code!r} must be 2-32 characters of A-Z, 0-9 and _",
        )
    return code


def check_url(kind: str, url: str) -> str:
    """HTTPS, or plain HTTP to loopback only (tests and demos)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK)
    if not host or not secure:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"{kind} {url!r} must be an https:// URL (http:// only on loopback)",
        )
    return url


def parse_instant(what: str, text: str) -> datetime:
    """A date (00:00 that day in Shanghai) or an ISO 8601 instant with its offset."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), SHANGHAI)
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"{what} {text!r} must be YYYY-MM-DD or an ISO instant"
        ) from None
    if instant.tzinfo is None:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"{what} {text!r} needs an offset, e.g. 2026-11-22T09:00:00+08:00",
        )
    return instant
