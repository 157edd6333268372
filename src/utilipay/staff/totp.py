"""The optional second factor: TOTP (RFC 6238, pyotp), as authenticator apps make it.

The secret is sealed at rest (``SealedText``). A code is accepted within one 30-second
step either side of now, and each step only once per user, so a code read over a
shoulder cannot be replayed within its minute.
"""

from __future__ import annotations

import pyotp
from pyotp.utils import strings_equal
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff.service import row_by_id
from utilipay.staff.tables import staff_users

ISSUER = "utilipay"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """What an authenticator app scans (or the secret itself, typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def matching_step(secret: str, code: str, clock: Clock) -> int | None:
    """The time step ``code`` is right for (now, or one step either side), or None."""
    totp = pyotp.TOTP(secret)
    now = clock.now()
    code = code.strip().replace(" ", "")
    for offset in (0, -1, 1):
        at = now.timestamp() + offset * totp.interval
        if strings_equal(totp.at(int(at)), code):
            return int(at // totp.interval)
    return None


async def enable(conn: AsyncConnection, clock: Clock, user_id: int, secret: str, code: str) -> None:
    """Turn the second factor on, once the user shows a code of the new secret."""
    row = await row_by_id(conn, user_id, lock=True)
    step = matching_step(secret, code, clock)
    if step is None:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "the code does not match: try the next")
    await conn.execute(
        update(staff_users)
        .where(staff_users.c.id == user_id)
        .values(totp_secret=secret, totp_last_step=step)
    )
    await audit.record(
        conn,
        clock,
        actor=row["username"],
        action="user.totp_enable",
        object_type="staff_user",
        object_id=row["username"],
    )


async def check(conn: AsyncConnection, clock: Clock, user_id: int, code: str) -> bool:
    """Whether ``code`` is the user's, and not a step used before; uses it up."""
    row = await row_by_id(conn, user_id, lock=True)
    if row["totp_secret"] is None:
        return False
    step = matching_step(row["totp_secret"], code, clock)
    if step is None or (row["totp_last_step"] is not None and step <= row["totp_last_step"]):
        return False
    await conn.execute(
        update(staff_users).where(staff_users.c.id == user_id).values(totp_last_step=step)
    )
    return True


async def disable(
    conn: AsyncConnection, clock: Clock, user_id: int, *, actor: str, reason: str
) -> None:
    """Turn the second factor off: the user's own choice, or an administrator's for a
    user who lost their device (with a reason)."""
    row = await row_by_id(conn, user_id, lock=True)
    await conn.execute(
        update(staff_users)
        .where(staff_users.c.id == user_id)
        .values(totp_secret=None, totp_last_step=None)
    )
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="user.totp_disable",
        object_type="staff_user",
        object_id=row["username"],
        reason=reason,
    )
