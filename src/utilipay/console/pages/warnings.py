"""Early warning (回收预警): the warnings nobody acknowledged yet, acknowledged here with a
note; the utilities' rules, tuned, switched on or off, added with a kind's defaults; whom
each utility's warnings are sent to (e-mail addresses and mobile numbers). The same
services as ``utilipay warnings …`` and the admin API, each change audited. Utility staff
see and change only their utility's and branches'; another's, by URL, is refused and
audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.console.i18n import words
from utilipay.console.pages.accounts import billers_of, seen_biller
from utilipay.console.templating import render
from utilipay.console.visits import host, needs, refuse
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff.roles import Permission, Staff
from utilipay.warnings import episodes
from utilipay.warnings import rules as rules_repo
from utilipay.warnings.kinds import KINDS

router = APIRouter()
Manager = Annotated[Staff, needs(Permission.WARNINGS_MANAGE)]
Id = Annotated[int, Path(ge=1)]
PARAM = "param_"  # a rule's parameter NAME arrives as the form field param_NAME
DONE = {
    "acknowledged": words("Warning acknowledged."),
    "saved": words("Rule saved: the next pass checks it."),
    "added": words("Rule added with the kind's defaults: tune it below."),
    "contacts": words("Contacts saved: the next warning goes to them."),
}

# a rule's parameters as people read them, with their unit (the API and the CLI take fen)
PARAM_LABELS = {
    "day": words("From day of the month"),
    "points": words("Points behind"),
    "target_percent": words("Target collection rate (%)"),
    "amount_fen": words("Amount in fen (100 fen = 1 yuan)"),
    "count": words("Number of accounts"),
    "days": words("Days"),
    "times": words("Times"),
}


async def _page(
    request: Request, staff: Staff, *, status_code: int = 200, error: str = "", done: str = ""
) -> Response:
    hub = host(request)
    async with hub.engine.connect() as conn:
        found = await episodes.list_warnings(conn, staff.billers, unacknowledged=True)
        rules = await rules_repo.list_rules(conn, staff.billers)
        billers = billers_of(request, staff)
        found_contacts = await rules_repo.contacts_of(conn, [b.id for b in billers])
    contacts = {b.code: found_contacts[b.id] for b in billers}
    return render(
        request, "warnings.html", status_code=status_code, warnings=found, rules=rules,
        billers=billers, codes={b.id: b.code for b in billers}, kinds=KINDS,
        param_labels=PARAM_LABELS, contacts=contacts, error=error, done=DONE.get(done, ""),
    )  # fmt: skip


async def _changed(
    request: Request,
    staff: Staff,
    change: Callable[[AsyncConnection], Awaitable[object]],
    done: str,
) -> Response:
    """Make the change in one transaction: the service finds the row under lock and refuses
    one of a utility outside ``staff.billers`` (FORBIDDEN, refused and audited here)."""
    hub = host(request)
    try:
        async with hub.engine.begin() as conn:
            await change(conn)
    except DomainError as exc:
        if exc.code is ErrorCode.FORBIDDEN:
            raise await refuse(request, staff, exc.detail) from None
        if exc.code is ErrorCode.NOT_FOUND:
            raise DomainError(ErrorCode.NOT_FOUND, words("No such warning or rule.")) from None
        return await _page(request, staff, status_code=400, error=exc.detail)
    return RedirectResponse(f"/console/warnings?done={done}", status_code=303)


@router.get("/warnings")
async def warnings_page(
    request: Request, staff: Manager, done: Annotated[str, Query(max_length=20)] = ""
) -> Response:
    return await _page(request, staff, done=done)


@router.post("/warnings/{warning_id}/acknowledge")
async def acknowledge(
    request: Request,
    staff: Manager,
    warning_id: Id,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    clock = host(request).clock

    async def change(conn: AsyncConnection) -> object:
        return await episodes.acknowledge(conn, clock, warning_id, note, actor=staff.username,
                                          visible=staff.billers)  # fmt: skip

    return await _changed(request, staff, change, "acknowledged")


@router.post("/warnings/rules/{rule_id}")
async def save_rule(request: Request, staff: Manager, rule_id: Id) -> Response:
    clock = host(request).clock
    form = await request.form()
    params = {
        str(k).removeprefix(PARAM): str(v).strip() for k, v in form.items() if k.startswith(PARAM)
    }

    async def change(conn: AsyncConnection) -> object:
        return await rules_repo.update_rule(
            conn, clock, rule_id, params=params, enabled=form.get("enabled") == "on",
            actor=staff.username, visible=staff.billers,
        )  # fmt: skip

    return await _changed(request, staff, change, "saved")


@router.post("/warnings/rules")
async def add_rule(
    request: Request,
    staff: Manager,
    biller: Annotated[str, Form(max_length=32)] = "",
    kind: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    clock = host(request).clock
    found = await seen_biller(request, staff, biller, f"warning rules of {biller}")

    async def change(conn: AsyncConnection) -> object:
        return await rules_repo.add_rule(conn, clock, found.id, kind, {}, actor=staff.username)

    return await _changed(request, staff, change, "added")


def contacts_of(text: str) -> list[tuple[str, str]]:
    """One contact a line: an e-mail address (it has an @) or a mobile number; blank lines
    skipped. The service checks each."""
    lines = (line.strip() for line in text.splitlines())
    return [("email" if "@" in line else "sms", line) for line in lines if line]


@router.post("/warnings/contacts")
async def save_contacts(
    request: Request,
    staff: Manager,
    biller: Annotated[str, Form(max_length=32)] = "",
    contacts: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    clock = host(request).clock
    found = await seen_biller(request, staff, biller, f"warning contacts of {biller}")

    async def change(conn: AsyncConnection) -> object:
        return await rules_repo.set_contacts(
            conn, clock, found.id, contacts_of(contacts), actor=staff.username
        )

    return await _changed(request, staff, change, "contacts")
