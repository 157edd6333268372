"""Who is calling: verify a channel request's signature, clock skew and nonce format.

Pure rules; the nonce's first use is recorded by the caller in the request's
own transaction (``channels.repository.consume_nonce``). A terminal of an agent channel
(channel-api.md §11) signs the same way with its own secret and one more header,
``X-Utilipay-Terminal``; its nonces are its channel's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from utilipay.channels.schemas import Channel, ChannelStatus
from utilipay.errors import DomainError, ErrorCode
from utilipay.security.signing import canonical, signature_matches

MAX_SKEW_SECONDS = 300
# One answer for every request that is not (yet) known to come from the channel it names:
# a caller learns nothing of which channels exist or which header was wrong.
NOT_SIGNED = (
    "the request is not signed as channel-api.md §3 requires: the X-Utilipay-Channel, "
    "-Timestamp, -Nonce and -Signature headers are missing, malformed or do not verify"
)
# Verifying against this for an unknown channel takes as long as for a known one.
_NO_SECRET = ("no channel has this secret",)
NONCE_TTL_SECONDS = 600
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class TerminalKey(Protocol):
    """What checking a terminal's signature needs of it (``outlets.auth.Terminal``)."""

    @property
    def channel_id(self) -> int: ...

    @property
    def may_sign(self) -> bool:
        """The terminal is active and so is its outlet."""
        ...

    @property
    def accepted_secrets(self) -> tuple[str, ...]: ...


FindTerminal = Callable[[str], TerminalKey | None]


@dataclass(frozen=True, slots=True)
class SignedCall:
    """A request whose signature checked out; its nonce is not yet consumed."""

    channel: Channel
    nonce: str
    terminal: TerminalKey | None = None  # the terminal that signed it, if one did


def _refuse(detail: str) -> DomainError:
    return DomainError(ErrorCode.UNAUTHENTICATED, detail)


def verify_request(
    headers: Mapping[str, str],
    method: str,
    path_qs: str,
    body: bytes,
    now_epoch: float,
    find_channel: Callable[[str], Channel | None],
    find_terminal: FindTerminal | None = None,
) -> SignedCall:
    code = headers.get("x-utilipay-channel")
    timestamp = headers.get("x-utilipay-timestamp")
    nonce = headers.get("x-utilipay-nonce")
    signature = headers.get("x-utilipay-signature")
    if not (
        code
        and timestamp
        and nonce
        and signature
        and _NONCE.fullmatch(nonce)
        and _TIMESTAMP.fullmatch(timestamp)
        and _SIGNATURE.fullmatch(signature)
    ):
        raise _refuse(NOT_SIGNED)
    channel = find_channel(code) if len(code) <= 32 else None
    if channel is not None and channel.status is not ChannelStatus.ACTIVE:
        channel = None
    terminal_id = headers.get("x-utilipay-terminal")
    terminal = None
    if terminal_id is None:
        secrets = channel.accepted_secrets if channel is not None else _NO_SECRET
    else:
        terminal = _terminal_of(channel, terminal_id, find_terminal)
        secrets = terminal.accepted_secrets if terminal is not None else _NO_SECRET
    message = canonical(method, path_qs, timestamp, nonce, body)
    signer = channel if terminal_id is None else terminal
    if not signature_matches(secrets, message, signature) or signer is None or channel is None:
        raise _refuse(NOT_SIGNED)
    # Checked after the signature so an unauthenticated caller learns nothing of our clock.
    if abs(now_epoch - int(timestamp)) > MAX_SKEW_SECONDS:
        raise _refuse(f"timestamp is more than {MAX_SKEW_SECONDS} s away from the hub's clock")
    return SignedCall(channel=channel, nonce=nonce, terminal=terminal)


def _terminal_of(
    channel: Channel | None, terminal_id: str, find_terminal: FindTerminal | None
) -> TerminalKey | None:
    """The terminal named, if it may sign for ``channel``: revoked, of a suspended outlet or
    of another channel, it may not (and the caller learns nothing of which)."""
    if channel is None or find_terminal is None or len(terminal_id) > 64:
        return None
    terminal = find_terminal(terminal_id)
    if terminal is None or not terminal.may_sign or terminal.channel_id != channel.id:
        return None
    return terminal
