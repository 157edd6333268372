"""Who is calling: verify a channel request's signature, clock skew and nonce format.

Pure rules; the nonce's first use is recorded by the caller in the request's
own transaction (``channels.repository.consume_nonce``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from utilipay.channels.schemas import Channel, ChannelStatus
from utilipay.errors import DomainError, ErrorCode
from utilipay.security.signing import canonical, signature_matches

MAX_SKEW_SECONDS = 300
NONCE_TTL_SECONDS = 600
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True, slots=True)
class SignedCall:
    """A request whose signature checked out; its nonce is not yet consumed."""

    channel: Channel
    nonce: str


def _refuse(detail: str) -> DomainError:
    return DomainError(ErrorCode.UNAUTHENTICATED, detail)


def verify_request(
    headers: Mapping[str, str],
    method: str,
    path_qs: str,
    body: bytes,
    now_epoch: float,
    find_channel: Callable[[str], Channel | None],
) -> SignedCall:
    code = headers.get("x-utilipay-channel")
    timestamp = headers.get("x-utilipay-timestamp")
    nonce = headers.get("x-utilipay-nonce")
    signature = headers.get("x-utilipay-signature")
    if not (code and timestamp and nonce and signature):
        raise _refuse(
            "X-Utilipay-Channel, X-Utilipay-Timestamp, X-Utilipay-Nonce and "
            "X-Utilipay-Signature are all required"
        )
    if not _NONCE.fullmatch(nonce):
        raise _refuse("X-Utilipay-Nonce must be 16 to 64 characters of [A-Za-z0-9_-]")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise _refuse("X-Utilipay-Timestamp must be Unix time in seconds")
    if not _SIGNATURE.fullmatch(signature):
        raise _refuse("X-Utilipay-Signature must be 64 lower-case hex characters")
    channel = find_channel(code) if len(code) <= 32 else None
    if channel is None or channel.status is not ChannelStatus.ACTIVE:
        raise _refuse("unknown or disabled channel")
    message = canonical(method, path_qs, timestamp, nonce, body)
    if not signature_matches(channel.accepted_secrets, message, signature):
        raise _refuse("signature does not match")
    # Checked after the signature so an unauthenticated caller learns nothing of our clock.
    if abs(now_epoch - int(timestamp)) > MAX_SKEW_SECONDS:
        raise _refuse(f"timestamp is more than {MAX_SKEW_SECONDS} s away from the hub's clock")
    return SignedCall(channel=channel, nonce=nonce)
