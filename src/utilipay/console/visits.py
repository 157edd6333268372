"""Who is visiting the console, and whether they may: the session cookie, CSRF, the
permission a page needs and the utilities a person may see.

Every console route takes ``needs(permission)``: it finds the session (a missing or ended
one sends the visitor to sign in), checks the CSRF token of any request that is not a
read, and refuses, in the audit log, a person whose role lacks the permission. Pages
that show one utility's object call ``check_scope`` with that object's utility: scoped
staff who guess another utility's id get a 403 that is audited too.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, params
from starlette.requests import Request

from utilipay.audit import service as audit
from utilipay.billers import repository as billers
from utilipay.console.i18n import words
from utilipay.http.host import Host
from utilipay.staff import service as users
from utilipay.staff import sessions
from utilipay.staff.roles import Permission, Staff

SESSION_COOKIE = "utilipay_console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInNeeded(Exception):
    """No live session: the visitor signs in (or finishes the second factor) first."""

    def __init__(self, second_factor: bool = False) -> None:
        super().__init__("sign in")
        self.second_factor = second_factor


class Refused(Exception):
    """A console refusal, shown as a page with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def host(request: Request) -> Host:
    hub: Host = request.app.state.hub
    return hub


async def _visitor(request: Request) -> Staff:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInNeeded
    hub = host(request)
    async with hub.engine.begin() as conn:
        session = await sessions.find(conn, hub.clock, token)
        if session is None:
            raise SignInNeeded
        if session.second_factor_due:
            raise SignInNeeded(second_factor=True)
        user = await users.find(conn, session.user_id)
        scope = None if user.biller_id is None else await billers.group_of(conn, user.biller_id)
    staff = Staff(user.id, user.username, user.display_name, user.role, scope)
    request.state.staff = staff
    request.state.csrf_token = session.csrf_token
    request.state.session_id = session.id
    if request.method not in SAFE_METHODS:
        await check_csrf(request, session.csrf_token)
    return staff


async def check_csrf(request: Request, expected: str) -> None:
    """The token of the form (or of htmx's header) is the session's own: a page of another
    site cannot make a signed-in browser act."""
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()  # Starlette keeps it: the route reads it again
        field = form.get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if given is None or not secrets.compare_digest(given.encode(), expected.encode()):
        raise Refused(
            403,
            words(
                "This form has expired or did not come from the console. "
                "Reload the page and try again."
            ),
        )


async def refuse(request: Request, staff: Staff, what: str, status: int = 403) -> Refused:
    """Record a refused attempt in the audit log (its own transaction: the request does
    nothing else) and give the refusal to raise."""
    hub = host(request)
    async with hub.engine.begin() as conn:
        await audit.record(
            conn,
            hub.clock,
            actor=staff.username,
            action="console.refused",
            object_type="page",
            object_id=request.url.path,
            reason=what,
            details={"method": request.method, "role": staff.role},
        )
    return Refused(status, words("You may not open this page or do this."))


def needs(permission: Permission) -> params.Depends:
    """``staff: Annotated[Staff, needs(Permission.X)]``: the signed-in person, once they
    hold X."""

    async def dependency(request: Request) -> Staff:
        staff = await _visitor(request)
        if not staff.may(permission):
            raise await refuse(request, staff, f"role {staff.role} lacks {permission}")
        return staff

    return params.Depends(dependency)


SignedIn = Annotated[Staff, Depends(_visitor)]


async def check_scope(request: Request, staff: Staff, biller_id: int | None, what: str) -> None:
    """Refuse (403, audited) an object of a utility outside the person's scope."""
    if not staff.may_see(biller_id):
        raise await refuse(request, staff, f"{what} is outside {staff.username}'s utilities")
