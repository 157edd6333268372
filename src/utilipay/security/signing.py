"""Request signing of the channel API (channel-api.md §3).

``canonical`` is, joined by newlines: the upper-case method; the path with its
query string exactly as sent; the timestamp; the nonce; the lower-case hex
SHA-256 of the body. The signature is lower-case hex HMAC-SHA256 of it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

import httpx


def canonical(method: str, path_qs: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path_qs, timestamp, nonce, digest)).encode()


def sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(keys: Iterable[str], message: bytes, signature: str) -> bool:
    """True if any secret signs ``message`` to ``signature``; each comparison is constant-time.

    Every secret is tried even after a match, so timing does not reveal which one matched.
    """
    presented = signature.encode()
    matched = False
    for secret in keys:
        expected = sign(secret, message).encode()
        matched |= hmac.compare_digest(expected, presented)
    return matched


def signed_headers(
    channel: str, secret: str, method: str, path_qs: str, body: bytes, timestamp: int, nonce: str
) -> dict[str, str]:
    """The four headers a signed request carries (used by the hub's own clients and tests)."""
    message = canonical(method, path_qs, str(timestamp), nonce, body)
    return {
        "X-Utilipay-Channel": channel,
        "X-Utilipay-Timestamp": str(timestamp),
        "X-Utilipay-Nonce": nonce,
        "X-Utilipay-Signature": sign(secret, message),
    }


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def sign_request(
    request: httpx.Request, channel: str, secret: str, timestamp: int, nonce: str
) -> httpx.Request:
    """``request`` with the signing headers added, over its path and body as they are sent."""
    request.headers.update(
        signed_headers(
            channel,
            secret,
            request.method,
            request.url.raw_path.decode("ascii"),
            request.content,
            timestamp,
            nonce,
        )
    )
    return request
