"""A receipt's verification code: HMAC-SHA256, under a key only the hub holds, of the
receipt number, the payment id, the amount and the time the hub took the payment; 50 bits
in Crockford's base 32 (no I, L, O or U to misread), grouped 5-5 to be read over a phone.

A forger who changes the amount or the receipt number on a printed receipt cannot make a
code that verifies; the payer or the utility asks the hub (``utilipay receipts verify``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import as_utc
from utilipay.receipts.tables import receipt_keys

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})
_SYMBOLS = 10  # 5 bits each


async def receipt_key(conn: AsyncConnection, now: datetime) -> str:
    """The hub's receipt key, made (once, whoever comes first) if there is none yet."""
    found: str | None = (await conn.execute(select(receipt_keys.c.secret))).scalar_one_or_none()
    if found is not None:
        return found
    new = {"id": 1, "secret": secrets.token_urlsafe(32), "created_at": now}
    await conn.execute(pg_insert(receipt_keys).values(new).on_conflict_do_nothing())
    made: str = (await conn.execute(select(receipt_keys.c.secret))).scalar_one()
    return made


def receipt_code(key: str, receipt_no: str, payment_id: str, amount: int, paid_at: datetime) -> str:
    message = "\n".join((receipt_no, payment_id, str(amount), as_utc(paid_at).isoformat()))
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    bits = int.from_bytes(digest[:8]) >> (64 - 5 * _SYMBOLS)
    symbols = "".join(_ALPHABET[(bits >> (5 * n)) & 31] for n in reversed(range(_SYMBOLS)))
    return f"{symbols[:5]}-{symbols[5:]}"


def normalized(code: str) -> str:
    """A code as a person may type it (lower case, without the dash, O for 0) in the form
    ``receipt_code`` gives."""
    symbols = code.upper().translate(_READ_AS)
    return f"{symbols[:5]}-{symbols[5:]}"


def codes_match(expected: str, presented: str) -> bool:
    return hmac.compare_digest(expected.encode(), normalized(presented).encode())
