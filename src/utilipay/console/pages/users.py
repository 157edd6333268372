"""The console's people, for platform administrators: the list (role, utility, second
factor, locked, disabled), adding someone (a first password the administrator sets, or
one made here and shown once), and for another person: their role and utility,
disabling and enabling them (their sessions end), lifting a lock-out, turning off a
lost second factor, and setting a new password. ``staff.service`` keeps the rules (no
one changes their own role or disables themselves) and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from utilipay.billers import repository as billers
from utilipay.console.i18n import words
from utilipay.console.pages.admin_forms import (
    PLAIN,
    Outcome,
    Reason,
    Shown,
    new_secret,
    render_outcome,
)
from utilipay.console.visits import host, needs
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff import service as users
from utilipay.staff import totp
from utilipay.staff.roles import Permission, Role, Staff

router = APIRouter()
Manager = Annotated[Staff, needs(Permission.USERS_MANAGE)]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Utility = Annotated[str, Form(max_length=32)]
Password = Annotated[str, Form(max_length=256)]
PASSWORD_SHOWN = words("The first password (give it to them; they change it on My account)")
NEW_PASSWORD_SHOWN = words("The new password (give it to them; they change it on My account)")


def _refused(exc: DomainError) -> Outcome:
    return Outcome(403 if exc.code is ErrorCode.FORBIDDEN else 400, error=exc.detail)


async def _utility_id(conn: AsyncConnection, code: str) -> int | None:
    if not code.strip():
        return None
    found = await billers.by_code(conn, code.strip())
    if found is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no utility {code.strip()}")
    return found.id


@router.get("/users")
async def list_users(request: Request, staff: Manager) -> Response:
    return await _list(request)


async def _list(request: Request, outcome: Outcome = PLAIN) -> Response:
    hub = host(request)
    async with hub.engine.connect() as conn:
        people = await users.list_users(conn)
        utilities = {b.id: b.code for b in await billers.all_billers(conn)}
    return render_outcome(
        request, "users.html", outcome, people=people, utilities=utilities, roles=list(Role),
        now=hub.clock.now(),
    )  # fmt: skip


@router.post("/users")
async def add_user(
    request: Request,
    staff: Manager,
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[Role, Form()],
    display_name: Annotated[str, Form(max_length=200)] = "",
    utility: Utility = "",
    password: Password = "",
) -> Response:
    """An empty password: the hub makes one, shown once here."""
    hub = host(request)
    first = password or new_secret()
    try:
        async with hub.engine.begin() as conn:
            added = await users.create_user(
                conn, hub.clock, username=username, password=first, role=role,
                biller_id=await _utility_id(conn, utility), display_name=display_name.strip(),
                actor=staff.username,
            )  # fmt: skip
    except DomainError as exc:
        return await _list(request, _refused(exc))
    shown = None if password else Shown(PASSWORD_SHOWN, first, f"/console/users/{added.id}")
    return await _person(request, added.id, Outcome(message=words("User added."), shown=shown))


async def _person(request: Request, user_id: int, outcome: Outcome = PLAIN) -> Response:
    hub = host(request)
    async with hub.engine.connect() as conn:
        person = await users.find(conn, user_id)
        utility = None if person.biller_id is None else await billers.by_id(conn, person.biller_id)
    return render_outcome(
        request, "user.html", outcome, person=person, roles=list(Role),
        utility=utility.code if utility else "", locked=person.is_locked(hub.clock.now()),
    )  # fmt: skip


@router.get("/users/{user_id}")
async def user_page(request: Request, staff: Manager, user_id: UserId) -> Response:
    return await _person(request, user_id)


async def _update(
    request: Request,
    staff: Staff,
    user_id: int,
    done: str,
    reason: str,
    *,
    role: Role | None = None,
    utility: str | None = None,
    disabled: bool | None = None,
) -> Response:
    """``update_user`` sets role, utility and standing together: what the form leaves out
    stays as it is."""
    hub = host(request)
    try:
        async with hub.engine.begin() as conn:
            person = await users.find(conn, user_id)
            await users.update_user(
                conn, hub.clock, user_id, role=role or person.role,
                biller_id=person.biller_id if utility is None else await _utility_id(conn, utility),
                disabled=(person.disabled_at is not None) if disabled is None else disabled,
                actor=staff.username, reason=reason.strip(),
            )  # fmt: skip
    except DomainError as exc:
        return await _person(request, user_id, _refused(exc))
    return await _person(request, user_id, Outcome(message=done))


@router.post("/users/{user_id}/role")
async def change_role(
    request: Request,
    staff: Manager,
    user_id: UserId,
    role: Annotated[Role, Form()],
    reason: Reason,
    utility: Utility = "",
) -> Response:
    done = words("Role and utility changed.")
    return await _update(request, staff, user_id, done, reason, role=role, utility=utility)


@router.post("/users/{user_id}/standing")
async def disable_or_enable(
    request: Request,
    staff: Manager,
    user_id: UserId,
    disabled: Annotated[bool, Form()],
    reason: Reason,
) -> Response:
    done = words("User disabled; their sessions ended.") if disabled else words("User enabled.")
    return await _update(request, staff, user_id, done, reason, disabled=disabled)


@router.post("/users/{user_id}/unlock")
async def unlock(request: Request, staff: Manager, user_id: UserId, reason: Reason) -> Response:
    hub = host(request)
    async with hub.engine.begin() as conn:
        await users.unlock(conn, hub.clock, user_id, actor=staff.username, reason=reason.strip())
    return await _person(request, user_id, Outcome(message=words("Lock-out lifted.")))


@router.post("/users/{user_id}/second-factor")
async def reset_second_factor(
    request: Request, staff: Manager, user_id: UserId, reason: Reason
) -> Response:
    """For a lost device: the person signs in with their password and may set it again."""
    hub = host(request)
    async with hub.engine.begin() as conn:
        await totp.disable(conn, hub.clock, user_id, actor=staff.username, reason=reason.strip())
    return await _person(request, user_id, Outcome(message=words("Second factor turned off.")))


@router.post("/users/{user_id}/password")
async def reset_password(
    request: Request, staff: Manager, user_id: UserId, reason: Reason, password: Password = ""
) -> Response:
    """An empty password: the hub makes one, shown once here."""
    hub = host(request)
    new = password or new_secret()
    try:
        async with hub.engine.begin() as conn:
            await users.reset_password(
                conn, hub.clock, user_id, new, actor=staff.username, reason=reason.strip()
            )
    except DomainError as exc:
        return await _person(request, user_id, _refused(exc))
    shown = None if password else Shown(NEW_PASSWORD_SHOWN, new, f"/console/users/{user_id}")
    done = words("Password set; their sessions ended.")
    return await _person(request, user_id, Outcome(message=done, shown=shown))
