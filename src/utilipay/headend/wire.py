"""The head-end interface on the wire (docs/head-end-protocol.md), shared by the hub and
the simulator so both speak exactly one definition of it.

- ``CommandRequest``: the body of ``POST {base}/commands``;
- ``Acknowledgement``: the head-end's answer to it and to ``GET {base}/commands/{id}``;
- the answer's signature: the head-end signs its answer over ``ANSWER`` followed by
  the request's own canonical text with the answer's body in it, with the
  secret that verified the request. An answer is thereby bound to one request
  (its nonce) and cannot be replayed to another; the hub acts on no answer it
  cannot verify.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from utilipay.security.signing import sign, signature_matches

COMMANDS_PATH = "/commands"
ANSWER = "ANSWER"  # the "method" of an answer's canonical text
SIGNATURE_HEADER = "X-Utilipay-Signature"
# Identifiers travel in URL paths: a small alphabet that needs no escaping.
COMMAND_ID = r"^[A-Za-z0-9_-]{1,64}$"
METER_ID = r"^[A-Za-z0-9_.-]{1,64}$"
REASON = r"^[A-Z][A-Z0-9_]{0,31}$"
MAX_SEQUENCE = 2**53 - 1  # exact in every JSON implementation


class Action(StrEnum):
    DISCONNECT = "disconnect"
    RECONNECT = "reconnect"


class Relay(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


class AckStatus(StrEnum):
    ACCEPTED = "ACCEPTED"  # taken; it will be executed (or found stale) later
    EXECUTED = "EXECUTED"
    REJECTED = "REJECTED"  # refused for good: a person must act
    STALE = "STALE"  # a command of a higher sequence came first: never executed


FINAL_ACKS = frozenset({AckStatus.EXECUTED, AckStatus.REJECTED, AckStatus.STALE})


class CommandRequest(BaseModel):
    """``POST {base}/commands``. Strict: nothing is coerced, unknown fields are refused."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    command_id: Annotated[StrictStr, Field(pattern=COMMAND_ID)]
    meter_id: Annotated[StrictStr, Field(pattern=METER_ID)]
    action: Action
    sequence: Annotated[StrictInt, Field(ge=1, le=MAX_SEQUENCE)]
    reason: Annotated[StrictStr, Field(pattern=REASON)]
    issued_at: AwareDatetime


class Acknowledgement(BaseModel):
    """The head-end's answer. Fields added by a later version are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    command_id: StrictStr
    meter_id: StrictStr
    sequence: StrictInt
    status: AckStatus
    relay: Relay | None = None  # the meter's relay now, as the head-end knows it
    executed_at: AwareDatetime | None = None  # EXECUTED: when the relay switched
    detail: Annotated[StrictStr | None, Field(max_length=500)] = None  # REJECTED, STALE: why


def _answer_text(method: str, path_qs: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    # The request's canonical text (channel-api.md §3) after ``ANSWER``: an answer's
    # signature can never pass for a request's, nor an answer to one request for another's.
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((ANSWER, method.upper(), path_qs, timestamp, nonce, digest)).encode()


def sign_answer(
    secret: str, method: str, path_qs: str, timestamp: str, nonce: str, body: bytes
) -> str:
    return sign(secret, _answer_text(method, path_qs, timestamp, nonce, body))


def answer_is_signed(
    secrets: Iterable[str],
    signature: str,
    method: str,
    path_qs: str,
    timestamp: str,
    nonce: str,
    body: bytes,
) -> bool:
    """Whether one of ``secrets`` signed this answer to that request (constant-time)."""
    return signature_matches(
        secrets, _answer_text(method, path_qs, timestamp, nonce, body), signature
    )
