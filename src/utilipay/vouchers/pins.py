"""Serials and PINs: a voucher's serial is its batch and sequence, its PIN 16 random
digits, kept by the hub only as HMAC-SHA256 under its utility's key.

Why a keyed hash and not a slow, salted one: a redemption names only the PIN, so the hub
must find the voucher by the PIN's hash through an index, which a per-voucher salt makes
impossible (every voucher would have to be hashed to find one). An unkeyed fast hash would
let anyone with a copy of the database try all 10^16 PINs offline in days. With the key
sealed outside the database (``security/sealing.py``, like channel secrets), a dump reveals
nothing, and online guessing is slowed by the brute-force brake (§12) and the sheer space:
with a million live vouchers, a guess hits one with probability 1 in 10^10.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.vouchers.tables import voucher_keys

PIN_DIGITS = 16
_PIN_SPACE = 10**PIN_DIGITS
BATCH_DIGITS = 6
SEQ_DIGITS = 8


def new_pin() -> str:
    return f"{secrets.randbelow(_PIN_SPACE):0{PIN_DIGITS}d}"


def pin_hash(key: bytes, pin: str) -> bytes:
    return hmac.digest(key, pin.encode(), hashlib.sha256)


def is_pin(text: str) -> bool:
    return len(text) == PIN_DIGITS and text.isascii() and text.isdigit()


def serial(batch_id: int, seq: int) -> str:
    return f"{batch_id:0{BATCH_DIGITS}d}{seq:0{SEQ_DIGITS}d}"


def parse_serial(text: str) -> tuple[int, int]:
    """(batch, sequence) of a serial; a clear refusal for anything else."""
    if len(text) != BATCH_DIGITS + SEQ_DIGITS or not (text.isascii() and text.isdigit()):
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"serial {text[:32]!r} must be {BATCH_DIGITS + SEQ_DIGITS} digits",
        )
    return int(text[:BATCH_DIGITS]), int(text[BATCH_DIGITS:])


async def biller_key(conn: AsyncConnection, clock: Clock, biller_id: int) -> bytes:
    """The utility's PIN key, made on its first batch (a concurrent first batch's wins)."""
    await conn.execute(
        insert(voucher_keys)
        .values(biller_id=biller_id, key=secrets.token_hex(32), created_at=clock.now())
        .on_conflict_do_nothing()
    )
    return await existing_key(conn, biller_id) or b""


async def existing_key(conn: AsyncConnection, biller_id: int) -> bytes | None:
    """The utility's PIN key, None before its first batch."""
    key = await conn.scalar(select(voucher_keys.c.key).where(voucher_keys.c.biller_id == biller_id))
    return bytes.fromhex(key) if key is not None else None
