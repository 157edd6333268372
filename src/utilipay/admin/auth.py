"""Who an admin request comes from: a bearer token named in ``UTILIPAY_ADMIN_TOKENS``.

``UTILIPAY_ADMIN_TOKENS="alice:<token>,bob:<token>"``; tokens of at least 24
characters, compared in constant time. With none configured, the admin API
refuses everyone. The name is what the audit log records.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from utilipay.config import get_settings
from utilipay.errors import DomainError, ErrorCode

MIN_TOKEN = 24


def _tokens(spec: str) -> list[tuple[str, str]]:
    pairs = []
    for item in spec.split(","):
        name, _, token = item.strip().partition(":")
        if name and len(token) >= MIN_TOKEN:
            pairs.append((name, token))
    return pairs


def admin_actor(request: Request) -> str:
    """FastAPI dependency: the admin's name, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "an admin bearer token is required")
    found = None
    for name, token in _tokens(get_settings().admin_tokens):  # every token is compared
        if hmac.compare_digest(token.encode(), presented.encode()):
            found = name
    if found is None:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "unknown admin token")
    return found
