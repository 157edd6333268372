"""Early warning (回收预警): the warnings nobody acknowledged yet, acknowledged here with a
note; the utilities' rules, tuned, switched on or off, added with a kind's defaults. The
same services as ``utilipay warnings …`` and the admin API, each change audited. Utility
staff see and change only their utility's and branches'; another's, by URL, is refused
and audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.console.i18n import words
from utilipay.console.pages.accounts import billers_of, seen_biller
from utilipay.console.templating import render
from utilipay.console.visits import check_scope, host, needs
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
}


async def _page(
    request: Request, staff: Staff, *, status_code: int = 200, error: str = "", done: str = ""
) -> Response:
    hub = host(request)
    async with hub.engine.connect() as conn:
        found = await episodes.list_warnings(conn, staff.billers, unacknowledged=True)
        rules = await rules_repo.list_rules(conn, staff.billers)
    billers = billers_of(request, staff)
    return render(
        request, "warnings.html", status_code=status_code, warnings=found, rules=rules,
        billers=billers, codes={b.id: b.code for b in billers}, kinds=KINDS,
        error=error, done=DONE.get(done, ""),
    )  # fmt: skip


async def _scoped(request: Request, staff: Staff, biller_id: int | None, what: str) -> None:
    if biller_id is None:
        raise DomainError(ErrorCode.NOT_FOUND, words("No such warning or rule."))
    await check_scope(request, staff, biller_id, what)


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
    hub = host(request)
    async with hub.engine.connect() as conn:
        biller_id = await rules_repo.biller_of(conn, "warning", warning_id)
    await _scoped(request, staff, biller_id, f"warning {warning_id}")
    try:
        async with hub.engine.begin() as conn:
            await episodes.acknowledge(conn, hub.clock, warning_id, note, actor=staff.username,
                                       visible=staff.billers)  # fmt: skip
    except DomainError as exc:
        return await _page(request, staff, status_code=400, error=exc.detail)
    return RedirectResponse("/console/warnings?done=acknowledged", status_code=303)


@router.post("/warnings/rules/{rule_id}")
async def save_rule(request: Request, staff: Manager, rule_id: Id) -> Response:
    hub = host(request)
    async with hub.engine.connect() as conn:
        biller_id = await rules_repo.biller_of(conn, "rule", rule_id)
    await _scoped(request, staff, biller_id, f"warning rule {rule_id}")
    form = await request.form()
    params = {
        str(k).removeprefix(PARAM): str(v).strip() for k, v in form.items() if k.startswith(PARAM)
    }
    try:
        async with hub.engine.begin() as conn:
            await rules_repo.update_rule(
                conn, hub.clock, rule_id, params=params, enabled=form.get("enabled") == "on",
                actor=staff.username, visible=staff.billers,
            )  # fmt: skip
    except DomainError as exc:
        return await _page(request, staff, status_code=400, error=exc.detail)
    return RedirectResponse("/console/warnings?done=saved", status_code=303)


@router.post("/warnings/rules")
async def add_rule(
    request: Request,
    staff: Manager,
    biller: Annotated[str, Form(max_length=32)] = "",
    kind: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    hub = host(request)
    found = await seen_biller(request, staff, biller, f"warning rules of {biller}")
    try:
        async with hub.engine.begin() as conn:
            await rules_repo.add_rule(conn, hub.clock, found.id, kind, {}, actor=staff.username)
    except DomainError as exc:
        return await _page(request, staff, status_code=400, error=exc.detail)
    return RedirectResponse("/console/warnings?done=added", status_code=303)
