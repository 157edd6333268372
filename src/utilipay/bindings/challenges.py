"""SMS codes that verify a binding (channel-api.md §13, ``POST /v1/bindings/challenges``).

A code is 6 digits from ``secrets``, valid 5 minutes and 3 tries (the third wrong try
closes it), one open per payer (channel and payer) and account: a new one replaces it.
The hub keeps only its HMAC-SHA256 under a random key of the challenge's own, the key
sealed (``security/sealing.py``) like channel secrets, so a copy of the database cannot
try the million codes. The code reaches the phone on record through the notifications
(template ``binding.code``): the outbox event carries it sealed, the message's stored
params leave it out, and only the SMS text itself (which the gateway must be given)
holds it. Nothing here logs it.

Brake: 5 codes an hour per payer, per account and per phone, counted from the challenges
kept (closed ones too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import Biller, IntegrationMode
from utilipay.bindings.brake import Brake, Key, payer_and_account
from utilipay.bindings.tables import binding_challenges
from utilipay.channels.schemas import Channel
from utilipay.clock import Clock, to_shanghai_iso
from utilipay.common.masking import mask_phone
from utilipay.errors import DomainError, ErrorCode
from utilipay.ids import new_id
from utilipay.outbox.service import Event, emit
from utilipay.security.sealing import seal

CODE_DIGITS: Final = 6
VALID_FOR: Final = timedelta(minutes=5)
MAX_TRIES: Final = 3
CODES_SENT: Final = Brake(
    binding_challenges, "created_at", most=5, window=timedelta(hours=1), counted="SMS codes"
)
EVENT: Final = "binding.challenge"

_CONTACT = text(
    "SELECT phone FROM billing_accounts WHERE biller_id = :biller_id AND account_no = :account_no"
)


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    expires_at: datetime
    phone: str  # masked

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "expires_at": to_shanghai_iso(self.expires_at), "phone": self.phone}


@dataclass(frozen=True, slots=True)
class CodeState:
    """Where the payer's newest code for an account stands, for the payer's own pages to
    say why a code was refused (the API's one refusal says nothing of it)."""

    expired: bool
    closed_why: str | None  # USED | REPLACED | TOO_MANY_TRIES (its third wrong try)
    tries_left: int


def _code_hash(key: bytes, code: str) -> bytes:
    return hmac.digest(key, code.encode(), hashlib.sha256)


async def _phone_on_record(conn: AsyncConnection, biller: Biller, account_no: str) -> str:
    found = (
        await conn.execute(_CONTACT, {"biller_id": biller.id, "account_no": account_no})
    ).first()
    if found is None and biller.mode is IntegrationMode.HOSTED:
        raise DomainError(
            ErrorCode.ACCOUNT_NOT_FOUND, f"biller {biller.code} has no account {account_no}"
        )
    if found is None or not found.phone:
        raise DomainError(
            ErrorCode.PHONE_REQUIRED,
            f"{biller.code} account {account_no} has no phone on record to send a code to: "
            "verify by the holder's name where the utility takes it, or ask the utility",
        )
    return str(found.phone)


def _payers(channel: Channel, biller: Biller, payer: str, account_no: str) -> ColumnElement[bool]:
    """The payer's challenges for the account, open or closed."""
    c = binding_challenges.c
    return (
        (c.biller_id == biller.id)
        & (c.account_no == account_no)
        & (c.channel_id == channel.id)
        & (c.payer == payer)
    )


def _open(channel: Channel, biller: Biller, payer: str, account_no: str) -> ColumnElement[bool]:
    return _payers(channel, biller, payer, account_no) & binding_challenges.c.closed_at.is_(None)


async def send_code(
    conn: AsyncConnection, clock: Clock, channel: Channel, biller: Biller, payer: str,
    account_no: str,
) -> Challenge:  # fmt: skip
    """A new code for the payer's binding of the account, sent to the phone on record; the
    payer's open one is replaced. Refused past the brake, or without a phone on record."""
    phone = await _phone_on_record(conn, biller, account_no)
    phone_hash = hashlib.sha256(phone.encode()).digest()
    now = clock.now()
    await CODES_SENT.check(conn, now, _keys(channel, biller, payer, account_no, phone_hash))
    await conn.execute(
        update(binding_challenges)
        .where(_open(channel, biller, payer, account_no))
        .values(closed_at=now, closed_why="REPLACED")
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    key = secrets.token_bytes(32)
    challenge = Challenge(new_id("BC"), now + VALID_FOR, mask_phone(phone))
    await conn.execute(
        insert(binding_challenges).values(
            biller_id=biller.id, id=challenge.id, channel_id=channel.id, payer=payer,
            account_no=account_no, phone_hash=phone_hash,
            code_key=base64.b64encode(key).decode(), code_hash=_code_hash(key, code),
            created_at=now, expires_at=challenge.expires_at, tries=0,
        )
    )  # fmt: skip
    await emit(conn, [_event(biller, challenge, account_no, code, now)])
    return challenge


def _event(
    biller: Biller, challenge: Challenge, account_no: str, code: str, now: datetime
) -> Event:
    return Event(
        biller_id=biller.id,
        event_type=EVENT,
        aggregate_id=challenge.id,
        payload={
            "challenge_id": challenge.id,
            "biller": biller.code,
            "account_no": account_no,
            "sealed_code": seal(code),  # for the SMS only; never in clear in the outbox
            "minutes": int(VALID_FOR.total_seconds() // 60),
            "expires_at": to_shanghai_iso(challenge.expires_at),
        },
        occurred_at=now,
    )


def _keys(
    channel: Channel, biller: Biller, payer: str, account_no: str, phone_hash: bytes
) -> list[Key]:
    return [
        *payer_and_account(
            "binding-code", binding_challenges, channel, biller.id, payer, account_no
        ),
        Key(
            f"binding-code:phone:{phone_hash.hex()}",
            "this phone",
            binding_challenges.c.phone_hash == phone_hash,
        ),
    ]


async def newest_code(
    conn: AsyncConnection, clock: Clock, channel: Channel, biller: Biller, payer: str,
    account_no: str,
) -> CodeState | None:  # fmt: skip
    """The state of the payer's newest challenge for the account (None: never asked)."""
    c = binding_challenges.c
    query = select(c.expires_at, c.tries, c.closed_why).where(
        _payers(channel, biller, payer, account_no)
    )
    # of two asked in one instant, the open one is the newer (it replaced the other)
    newest_first = (c.created_at.desc(), c.closed_at.desc().nulls_first())
    row = (await conn.execute(query.order_by(*newest_first).limit(1))).first()
    if row is None:
        return None
    return CodeState(
        expired=row.expires_at <= clock.now(),
        closed_why=row.closed_why,
        tries_left=max(0, MAX_TRIES - row.tries),
    )


async def code_matches(
    conn: AsyncConnection, clock: Clock, channel: Channel, biller: Biller, payer: str,
    account_no: str, given: str,
) -> bool:  # fmt: skip
    """Whether ``given`` is the code of the payer's open, unexpired challenge for the
    account. The challenge is locked first, so of two requests giving it at once one uses
    it and the other finds it closed. A right code closes it (used); a wrong one counts a
    try, the third closes it (the caller commits that before refusing)."""
    now = clock.now()
    row = (
        await conn.execute(
            select(binding_challenges)
            .where(_open(channel, biller, payer, account_no))
            .with_for_update()
        )
    ).first()
    if row is None or row.expires_at <= now:
        return False
    matches = hmac.compare_digest(_code_hash(base64.b64decode(row.code_key), given), row.code_hash)
    tries = row.tries + (0 if matches else 1)
    closed_why = "USED" if matches else "TOO_MANY_TRIES" if tries >= MAX_TRIES else None
    await conn.execute(
        update(binding_challenges)
        .where(binding_challenges.c.biller_id == row.biller_id, binding_challenges.c.id == row.id)
        .values(tries=tries, closed_at=now if closed_why else None, closed_why=closed_why)
    )
    return matches
