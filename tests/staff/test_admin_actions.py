"""What an administrator does for another user: lift a lock-out, set a new password (their
sessions end), each audited with who and why; never for themselves."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.staff.test_staff import PASSWORD, add
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff import service as users
from utilipay.staff import sessions
from utilipay.staff.roles import Role
from utilipay.staff.service import LOCK_AFTER, SignIn

NEW_PASSWORD = "a brand new pass phrase"


async def audit_rows(conn: AsyncConnection, action: str) -> list[tuple[str, str, str]]:
    query = text("SELECT actor, object_id, reason FROM audit_log WHERE action = :a ORDER BY id")
    return [(r.actor, r.object_id, r.reason) for r in await conn.execute(query, {"a": action})]


async def test_an_administrator_lifts_a_lock_out_before_its_time(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    user = await add(conn, clock, "li")
    for _ in range(LOCK_AFTER):
        await users.authenticate(conn, clock, "li", "wrong password")
    assert (await users.find(conn, user.id)).is_locked(clock.now())

    unlocked = await users.unlock(conn, clock, user.id, actor="boss", reason="called the desk")

    assert not unlocked.is_locked(clock.now())
    assert (await users.authenticate(conn, clock, "li", PASSWORD))[0] is SignIn.SIGNED_IN
    assert await audit_rows(conn, "user.unlock") == [("boss", "li", "called the desk")]


async def test_a_reset_password_works_and_ends_the_users_sessions(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    user = await add(conn, clock, "li")
    token = await sessions.start(conn, clock, user.id, second_factor_due=False)

    await users.reset_password(conn, clock, user.id, NEW_PASSWORD, actor="boss", reason="forgot it")

    assert await sessions.find(conn, clock, token) is None
    assert (await users.authenticate(conn, clock, "li", PASSWORD))[0] is SignIn.REFUSED
    assert (await users.authenticate(conn, clock, "li", NEW_PASSWORD))[0] is SignIn.SIGNED_IN
    assert await audit_rows(conn, "user.password") == [("boss", "li", "forgot it")]


async def test_no_one_resets_their_own_password_nor_a_weak_one(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    admin = await add(conn, clock, "boss", Role.PLATFORM_ADMIN)
    user = await add(conn, clock, "li")
    with pytest.raises(DomainError) as own:
        await users.reset_password(conn, clock, admin.id, NEW_PASSWORD, actor="boss", reason="x")
    assert own.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(DomainError) as weak:
        await users.reset_password(conn, clock, user.id, "short", actor="boss", reason="x")
    assert weak.value.code is ErrorCode.MALFORMED_REQUEST
    assert await audit_rows(conn, "user.password") == []
