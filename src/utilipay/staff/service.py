"""Users of the console: creating them, signing in (with lock-out and a second factor),
changing passwords, roles and scopes, disabling them.

Sign-in failures count per user: after ``LOCK_AFTER`` in a row the user is locked for
``LOCK_FOR``, whatever password comes next (a right one included), and the lock is in
the audit log. Every answer to a failed sign-in is the same, so the page tells no one
which names exist or which of them are locked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff import passwords, sessions
from utilipay.staff.roles import Role
from utilipay.staff.tables import staff_users

LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
_ANOTHER = "ask another administrator"
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: int
    username: str
    display_name: str
    role: Role
    biller_id: int | None
    totp_enabled: bool
    locked_until: datetime | None
    disabled_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> StaffUser:
        return cls(
            id=row["id"],
            username=row["username"],
            display_name=row["display_name"],
            role=Role(row["role"]),
            biller_id=row["biller_id"],
            totp_enabled=row["totp_secret"] is not None,
            locked_until=row["locked_until"],
            disabled_at=row["disabled_at"],
            created_at=row["created_at"],
        )

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def audit_view(self) -> dict[str, object]:
        return {
            "role": self.role,
            "biller_id": self.biller_id,
            "disabled": self.disabled_at is not None,
        }


class SignIn(StrEnum):
    SIGNED_IN = "signed_in"
    SECOND_FACTOR_DUE = "second_factor_due"
    REFUSED = "refused"  # wrong name or password, locked or disabled: one answer for all


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            "a user name is 2-64 of a-z, 0-9 and . _ @ -, starting with a letter or digit",
        )
    return name


async def create_user(
    conn: AsyncConnection,
    clock: Clock,
    *,
    username: str,
    password: str,
    role: Role,
    biller_id: int | None,
    display_name: str = "",
    actor: str,
) -> StaffUser:
    name = normalise_username(username)
    passwords.check_policy(password, name)
    _check_scope(role, biller_id)
    if await _row_by_name(conn, name) is not None:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"a user named {name} exists")
    now = clock.now()
    row = (
        (
            await conn.execute(
                insert(staff_users)
                .values(
                    username=name,
                    display_name=display_name or name,
                    role=role,
                    biller_id=biller_id,
                    password_hash=passwords.hash_password(password),
                    failed_sign_ins=0,
                    password_changed_at=now,
                    created_at=now,
                    created_by=actor,
                )
                .returning(staff_users)
            )
        )
        .mappings()
        .one()
    )
    user = StaffUser.of(row)
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="user.create",
        object_type="staff_user",
        object_id=name,
        after=user.audit_view(),
    )
    return user


def _check_scope(role: Role, biller_id: int | None) -> None:
    if (role is Role.UTILITY_STAFF) != (biller_id is not None):
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            "utility staff need their utility (--biller), and only utility staff have one",
        )


async def _row_by_name(conn: AsyncConnection, name: str) -> RowMapping | None:
    query = select(staff_users).where(staff_users.c.username == name)
    return (await conn.execute(query)).mappings().one_or_none()


async def row_by_id(conn: AsyncConnection, user_id: int, *, lock: bool = False) -> RowMapping:
    query = select(staff_users).where(staff_users.c.id == user_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).mappings().one_or_none()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no user {user_id}")
    return row


async def find(conn: AsyncConnection, user_id: int) -> StaffUser:
    return StaffUser.of(await row_by_id(conn, user_id))


async def find_by_name(conn: AsyncConnection, username: str) -> StaffUser | None:
    row = await _row_by_name(conn, username.strip().lower())
    return None if row is None else StaffUser.of(row)


async def authenticate(
    conn: AsyncConnection, clock: Clock, username: str, password: str
) -> tuple[SignIn, StaffUser | None]:
    """Check a name and password; count a failure, lock after ``LOCK_AFTER`` of them."""
    now = clock.now()
    query = select(staff_users).where(staff_users.c.username == username.strip().lower())
    row = (await conn.execute(query.with_for_update())).mappings().one_or_none()
    right = passwords.verify(row["password_hash"] if row else None, password)
    if row is None:
        return SignIn.REFUSED, None
    user = StaffUser.of(row)
    if user.disabled_at is not None or (user.locked_until and user.locked_until > now):
        return SignIn.REFUSED, None
    if not right:
        await _count_failure(conn, clock, row)
        return SignIn.REFUSED, None
    fresh_hash = (
        passwords.hash_password(password)
        if passwords.needs_rehash(row["password_hash"])
        else row["password_hash"]
    )
    await conn.execute(
        update(staff_users)
        .where(staff_users.c.id == user.id)
        .values(failed_sign_ins=0, locked_until=None, password_hash=fresh_hash)
    )
    return (SignIn.SECOND_FACTOR_DUE if user.totp_enabled else SignIn.SIGNED_IN), user


async def note_failed_second_factor(conn: AsyncConnection, clock: Clock, user_id: int) -> bool:
    """A wrong TOTP code counts as a failed sign-in (six digits are guessable otherwise);
    whether the user is now locked."""
    row = await row_by_id(conn, user_id, lock=True)
    return await _count_failure(conn, clock, row)


async def _count_failure(conn: AsyncConnection, clock: Clock, row: RowMapping) -> bool:
    failures: int = row["failed_sign_ins"] + 1
    locked = failures >= LOCK_AFTER
    await conn.execute(
        update(staff_users)
        .where(staff_users.c.id == row["id"])
        .values(
            failed_sign_ins=0 if locked else failures,
            locked_until=clock.now() + LOCK_FOR if locked else None,
        )
    )
    if locked:
        await audit.record(
            conn,
            clock,
            actor=row["username"],
            action="user.lock",
            object_type="staff_user",
            object_id=row["username"],
            reason=f"{LOCK_AFTER} failed sign-ins in a row",
        )
    return locked


async def change_password(
    conn: AsyncConnection, clock: Clock, user_id: int, current: str, new: str
) -> None:
    row = await row_by_id(conn, user_id, lock=True)
    if not passwords.verify(row["password_hash"], current):
        raise DomainError(ErrorCode.FORBIDDEN, "the current password is not right")
    await set_password(conn, clock, row, new, actor=row["username"])


async def set_password(
    conn: AsyncConnection, clock: Clock, row: RowMapping, new: str, *, actor: str, reason: str = ""
) -> None:
    passwords.check_policy(new, row["username"])
    await conn.execute(
        update(staff_users)
        .where(staff_users.c.id == row["id"])
        .values(
            password_hash=passwords.hash_password(new),
            password_changed_at=clock.now(),
            failed_sign_ins=0,
            locked_until=None,
        )
    )
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="user.password",
        object_type="staff_user",
        object_id=row["username"],
        reason=reason,
    )


def _not_oneself(row: RowMapping, actor: str, what: str) -> None:
    if row["username"] == actor:
        raise DomainError(ErrorCode.FORBIDDEN, f"no one {what} for themselves: {_ANOTHER}")


async def reset_password(
    conn: AsyncConnection, clock: Clock, user_id: int, new: str, *, actor: str, reason: str
) -> None:
    """An administrator sets a user's password (forgotten, or a first one handed over):
    the user's sessions end, and a lock-out with them. One's own password is changed by
    giving the current one (``change_password``), never here."""
    row = await row_by_id(conn, user_id, lock=True)
    _not_oneself(row, actor, "resets the password")
    await set_password(conn, clock, row, new, actor=actor, reason=reason)
    await sessions.end_all(conn, clock, user_id)


async def unlock(
    conn: AsyncConnection, clock: Clock, user_id: int, *, actor: str, reason: str = ""
) -> StaffUser:
    """Lift a lock-out before its time (the user proved who they are another way)."""
    before = StaffUser.of(await row_by_id(conn, user_id, lock=True))
    query = (
        update(staff_users)
        .where(staff_users.c.id == user_id)
        .values(failed_sign_ins=0, locked_until=None)
        .returning(staff_users)
    )
    after = StaffUser.of((await conn.execute(query)).mappings().one())
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="user.unlock",
        object_type="staff_user",
        object_id=before.username,
        reason=reason,
        before={"locked_until": before.locked_until and before.locked_until.isoformat()},
        after={"locked_until": None},
    )
    return after


async def update_user(
    conn: AsyncConnection,
    clock: Clock,
    user_id: int,
    *,
    role: Role,
    biller_id: int | None,
    disabled: bool,
    actor: str,
    reason: str,
) -> StaffUser:
    """Change a user's role, scope or standing; a disabled user loses every session and
    is refused at sign-in."""
    _check_scope(role, biller_id)
    before = StaffUser.of(await row_by_id(conn, user_id, lock=True))
    if before.username == actor and (disabled or role is not before.role):
        raise DomainError(
            ErrorCode.FORBIDDEN,
            f"no one changes their own role or disables themselves: {_ANOTHER}",
        )
    disabled_at = (before.disabled_at or clock.now()) if disabled else None
    row = (
        (
            await conn.execute(
                update(staff_users)
                .where(staff_users.c.id == user_id)
                .values(role=role, biller_id=biller_id, disabled_at=disabled_at)
                .returning(staff_users)
            )
        )
        .mappings()
        .one()
    )
    after = StaffUser.of(row)
    if disabled:
        await sessions.end_all(conn, clock, user_id)
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="user.update",
        object_type="staff_user",
        object_id=after.username,
        reason=reason,
        before=before.audit_view(),
        after=after.audit_view(),
    )
    return after


async def list_users(conn: AsyncConnection) -> list[StaffUser]:
    rows = await conn.execute(select(staff_users).order_by(func.lower(staff_users.c.username)))
    return [StaffUser.of(r) for r in rows.mappings()]
