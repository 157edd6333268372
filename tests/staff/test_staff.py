"""The console's people as plain rules over the database: passwords, lock-out, sessions,
scopes, the four-eyes rule (in the service and in the database)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import Biller
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff import approvals, sessions
from utilipay.staff import service as users
from utilipay.staff.roles import PERMISSIONS, READ_ALL, Permission, Role, Staff
from utilipay.staff.service import LOCK_AFTER, LOCK_FOR, SignIn

PASSWORD = "correct horse battery staple"


async def add(
    conn: AsyncConnection,
    clock: FrozenClock,
    name: str,
    role: Role = Role.OPERATIONS,
    biller_id: int | None = None,
) -> users.StaffUser:
    return await users.create_user(
        conn, clock, username=name, password=PASSWORD, role=role, biller_id=biller_id, actor="test"
    )


async def test_the_password_is_stored_hashed_and_checked(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    await add(conn, clock, "Li.Ming")
    stored = (await conn.execute(text("SELECT password_hash FROM staff_users"))).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert (await users.authenticate(conn, clock, "li.ming", PASSWORD))[0] is SignIn.SIGNED_IN
    assert (await users.authenticate(conn, clock, "li.ming", "wrong"))[0] is SignIn.REFUSED


@pytest.mark.parametrize(
    "password", ["short", "li.ming-2026-password", "aaaaaaaaaaaaaaaa", "x" * 257]
)
async def test_a_weak_password_is_refused(
    conn: AsyncConnection, clock: FrozenClock, password: str
) -> None:
    with pytest.raises(DomainError) as refused:
        await users.create_user(
            conn,
            clock,
            username="li.ming",
            password=password,
            role=Role.AUDITOR,
            biller_id=None,
            actor="test",
        )
    assert refused.value.code is ErrorCode.MALFORMED_REQUEST


async def test_lock_out_after_failures_then_it_lifts(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    await add(conn, clock, "li")
    for _ in range(LOCK_AFTER):
        await users.authenticate(conn, clock, "li", "wrong password")
    assert (await users.authenticate(conn, clock, "li", PASSWORD))[0] is SignIn.REFUSED
    clock.advance(LOCK_FOR)
    assert (await users.authenticate(conn, clock, "li", PASSWORD))[0] is SignIn.SIGNED_IN


async def test_sessions_end_when_idle_when_old_and_when_disabled(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    user = await add(conn, clock, "li")
    admin = await add(conn, clock, "boss", Role.PLATFORM_ADMIN)
    token = await sessions.start(conn, clock, user.id, second_factor_due=False)
    clock.advance(sessions.IDLE - timedelta(seconds=1))
    assert await sessions.find(conn, clock, token) is not None  # and touched
    clock.advance(sessions.IDLE - timedelta(seconds=1))
    assert await sessions.find(conn, clock, token) is not None
    clock.advance(sessions.IDLE)
    assert await sessions.find(conn, clock, token) is None  # idle too long
    token = await sessions.start(conn, clock, user.id, second_factor_due=False)
    await users.update_user(
        conn,
        clock,
        user.id,
        role=Role.OPERATIONS,
        biller_id=None,
        disabled=True,
        actor=admin.username,
        reason="left",
    )
    assert await sessions.find(conn, clock, token) is None
    assert (await users.authenticate(conn, clock, "li", PASSWORD))[0] is SignIn.REFUSED


async def test_utility_staff_have_a_utility_and_only_they(
    conn: AsyncConnection, clock: FrozenClock, world: dict[str, object]
) -> None:
    water = world["water"]
    assert isinstance(water, Biller)
    with pytest.raises(DomainError):
        await add(conn, clock, "clerk", Role.UTILITY_STAFF)
    with pytest.raises(DomainError):
        await add(conn, clock, "ops", Role.OPERATIONS, water.id)
    await add(conn, clock, "clerk", Role.UTILITY_STAFF, water.id)


async def test_no_one_changes_their_own_role(conn: AsyncConnection, clock: FrozenClock) -> None:
    admin = await add(conn, clock, "boss", Role.PLATFORM_ADMIN)
    with pytest.raises(DomainError) as refused:
        await users.update_user(
            conn,
            clock,
            admin.id,
            role=Role.AUDITOR,
            biller_id=None,
            disabled=False,
            actor="boss",
            reason="",
        )
    assert refused.value.code is ErrorCode.FORBIDDEN


async def test_four_eyes_in_the_service_and_in_the_database(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    asker = await add(conn, clock, "ops-a")
    other = await add(conn, clock, "ops-b")

    async def ask() -> int:
        return await approvals.ask(
            conn,
            clock,
            kind="payout_account",
            biller_id=None,
            subject="BJWATER",
            payload={"account": "6222"},
            reason="new bank",
            requester_id=asker.id,
            requester="ops-a",
        )

    first = await ask()
    with pytest.raises(DomainError) as refused:
        await approvals.decide(
            conn, clock, first, approve=True, decider_id=asker.id, decider="ops-a"
        )
    assert refused.value.code is ErrorCode.FORBIDDEN
    decided = await approvals.decide(
        conn, clock, first, approve=True, decider_id=other.id, decider="ops-b"
    )
    assert (decided.status, decided.decided_by) == (approvals.ApprovalStatus.APPROVED, "ops-b")
    with pytest.raises(DomainError):  # decided once
        await approvals.decide(
            conn, clock, first, approve=False, decider_id=other.id, decider="ops-b"
        )
    second = await ask()
    nested = await conn.begin_nested()
    with pytest.raises(IntegrityError, match="staff_approvals_four_eyes"):
        await conn.execute(
            text(
                "UPDATE staff_approvals SET status = 'APPROVED', decided_by = requested_by,"
                " decided_at = now() WHERE id = :id"
            ),
            {"id": second},
        )
    await nested.rollback()
    withdrawn = await approvals.decide(
        conn, clock, second, approve=False, decider_id=asker.id, decider="ops-a"
    )
    assert withdrawn.status is approvals.ApprovalStatus.WITHDRAWN


def test_an_auditor_reads_everything_and_writes_nothing() -> None:
    writes = set(Permission) - READ_ALL
    assert PERMISSIONS[Role.AUDITOR] == READ_ALL
    assert not PERMISSIONS[Role.AUDITOR] & writes
    assert all(p.endswith((":read", ":lookup")) or p == Permission.DASHBOARD for p in READ_ALL)


def test_scoped_staff_see_only_their_utilities() -> None:
    clerk = Staff(1, "clerk", "clerk", Role.UTILITY_STAFF, frozenset({3, 4}))
    assert clerk.may_see(3) and clerk.may_see(4)
    assert not clerk.may_see(5) and not clerk.may_see(None)
    assert Staff(2, "ops", "ops", Role.OPERATIONS, None).may_see(5)
