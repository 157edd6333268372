"""``SIGN || XML`` framing and signatures (biller-protocol.md §2).

``SHA1``: 40 upper-case hex of SHA1(XML_BYTES || KEY_BYTES), the legacy scheme.
``HMAC-SHA256``: 64 upper-case hex of HMAC-SHA256(KEY_BYTES, XML_BYTES).
A receiver refuses an oversize body before anything else and verifies the
signature before the XML is parsed; during a key rotation it accepts either key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from enum import StrEnum

from utilipay.billers.protocol.codes import Code, ProtocolError

MAX_MESSAGE = 64 * 1024


class SignType(StrEnum):
    SHA1 = "SHA1"
    HMAC_SHA256 = "HMAC-SHA256"

    @property
    def length(self) -> int:
        return 40 if self is SignType.SHA1 else 64


def sign(sign_type: SignType, key: str, message: bytes) -> str:
    if sign_type is SignType.SHA1:
        # The legacy scheme some utilities still run (§2); new ones get HMAC-SHA256.
        digest = hashlib.sha1(message + key.encode(), usedforsecurity=True)  # noqa: S324
        return digest.hexdigest().upper()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest().upper()


def frame(sign_type: SignType, key: str, xml: bytes) -> bytes:
    return sign(sign_type, key, xml).encode("ascii") + xml


def unframe(sign_type: SignType, keys: Sequence[str], body: bytes) -> bytes:
    """The XML bytes of a verified message; ``ProtocolError`` before any parsing otherwise."""
    if len(body) > MAX_MESSAGE:
        raise ProtocolError(Code.MALFORMED, f"message of {len(body)} bytes exceeds {MAX_MESSAGE}")
    n = sign_type.length
    if len(body) <= n:
        raise ProtocolError(Code.MALFORMED, "message too short for its signature")
    presented, xml = body[:n], body[n:]
    matched = False
    for key in keys:  # every key is tried: timing does not tell which matched
        matched |= hmac.compare_digest(sign(sign_type, key, xml).encode("ascii"), presented)
    if not matched:
        raise ProtocolError(Code.SIGNATURE_INVALID, "signature does not match")
    return xml


def sign_text(sign_type: SignType, key: str, text: str) -> str:
    """Signature of a short text (the statement download's ``X-Sign``, §6)."""
    return sign(sign_type, key, text.encode())


def text_signature_matches(sign_type: SignType, keys: Sequence[str], text: str, sig: str) -> bool:
    presented = sig.encode("ascii", errors="replace")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(sign_text(sign_type, key, text).encode("ascii"), presented)
    return matched
