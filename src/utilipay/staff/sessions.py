"""Console sessions: a random token in an HttpOnly cookie, only its SHA-256 stored.

A session ends when its user signs out, signs out everywhere, changes their password
(every other session ends), is disabled, or stays idle for ``IDLE``; it never lives
past ``LONGEST``. A session whose user still owes the second factor admits nothing but
the page that asks for it. Each session has its own CSRF token, which every form and
htmx request of the console carries back.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock
from utilipay.staff.tables import staff_sessions, staff_users

IDLE = timedelta(minutes=30)
LONGEST = timedelta(hours=12)
# last_seen_at is written at most this often: a page with several htmx parts costs reads
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    user_id: int
    csrf_token: str
    second_factor_due: bool
    last_seen_at: datetime


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def start(
    conn: AsyncConnection, clock: Clock, user_id: int, *, second_factor_due: bool
) -> str:
    """A new session; its token (the cookie's value) is returned only here."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    await conn.execute(
        insert(staff_sessions).values(
            token_sha256=_digest(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            second_factor_due=second_factor_due,
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


async def find(conn: AsyncConnection, clock: Clock, token: str) -> Session | None:
    """The live session of this cookie, or None; touches it (at most once a minute)."""
    now = clock.now()
    s, u = staff_sessions.c, staff_users.c
    query = (
        select(s.id, s.user_id, s.csrf_token, s.second_factor_due, s.last_seen_at)
        .join(staff_users, u.id == s.user_id)
        .where(
            s.token_sha256 == _digest(token),
            s.ended_at.is_(None),
            s.last_seen_at > now - IDLE,
            s.created_at > now - LONGEST,
            u.disabled_at.is_(None),
        )
    )
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        return None
    session = Session(*row)
    if now - session.last_seen_at >= TOUCH_EVERY:
        await conn.execute(
            update(staff_sessions).where(s.id == session.id).values(last_seen_at=now)
        )
    return session


async def second_factor_passed(conn: AsyncConnection, clock: Clock, session: Session) -> str:
    """The session is whole: a new token replaces the one issued before the second factor,
    so a token seen half-way (a shoulder, a proxy log) is worth nothing."""
    await end(conn, clock, session.id)
    return await start(conn, clock, session.user_id, second_factor_due=False)


async def end(conn: AsyncConnection, clock: Clock, session_id: int) -> None:
    await conn.execute(
        update(staff_sessions)
        .where(staff_sessions.c.id == session_id, staff_sessions.c.ended_at.is_(None))
        .values(ended_at=clock.now())
    )


async def end_all(
    conn: AsyncConnection, clock: Clock, user_id: int, *, keep: int | None = None
) -> int:
    """End every session of a user but ``keep``; how many ended."""
    s = staff_sessions.c
    query = update(staff_sessions).where(s.user_id == user_id, s.ended_at.is_(None))
    if keep is not None:
        query = query.where(s.id != keep)
    return (await conn.execute(query.values(ended_at=clock.now()))).rowcount
