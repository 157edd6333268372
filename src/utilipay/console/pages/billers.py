"""Utilities (billers), for platform administrators: the list, adding one, renaming,
suspending and resuming, and a remote utility's signing key: rotated to a new one the hub
makes (shown once; the old one stays accepted until retired). The same service calls as
``utilipay billers …``, which audit before and after, never a key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.billers import repository
from utilipay.billers import service as billers
from utilipay.billers.protocol.framing import SignType
from utilipay.billers.schemas import BillerStatus, Category, IntegrationMode
from utilipay.billers.service import RemoteSettings
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
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
Manager = Annotated[Staff, needs(Permission.BILLERS_MANAGE)]
Code = Annotated[str, Path(max_length=32)]
Short = Annotated[str, Form(max_length=200)]
KEY_SHOWN = words("The utility's new signing key")


async def _list(
    request: Request, outcome: Outcome = PLAIN, form: dict[str, str] | None = None
) -> Response:
    async with host(request).engine.connect() as conn:
        found = await repository.all_billers(conn)
    return render_outcome(
        request,
        "billers.html",
        outcome,
        billers=found,
        codes={b.id: b.code for b in found},
        categories=list(Category),
        modes=list(IntegrationMode),
        sign_types=list(SignType),
        form=form or {},
    )


@router.get("/billers")
async def list_billers(request: Request, staff: Manager) -> Response:
    return await _list(request)


@router.post("/billers")
async def add_biller(
    request: Request,
    staff: Manager,
    code: Annotated[str, Form(max_length=32)],
    name: Short,
    category: Annotated[Category, Form()],
    mode: Annotated[IntegrationMode, Form()],
    account_rule: Short,
    account_hint: Short = "",
    region: Annotated[str, Form(max_length=6)] = "",
    parent: Annotated[str, Form(max_length=32)] = "",
    url: Annotated[str, Form(max_length=500)] = "",
    sign_type: Annotated[SignType, Form()] = SignType.HMAC_SHA256,
) -> Response:
    """A remote utility gets a signing key made here, shown once, for its own system."""
    hub = host(request)
    key = new_secret() if mode is IntegrationMode.REMOTE else None
    remote = None if key is None else RemoteSettings(url=url, key=key, sign_type=sign_type)
    try:
        async with hub.engine.begin() as conn:
            added = await billers.add_biller(
                conn, hub.clock, code=code.strip(), name=name.strip(), category=category,
                mode=mode, account_rule=account_rule, account_hint=account_hint,
                region=region.strip(), parent_code=parent.strip() or None, remote=remote,
                actor=staff.username,
            )  # fmt: skip
    except DomainError as exc:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        return await _list(request, Outcome(400, error=exc.detail), form)
    if key is None:
        return RedirectResponse(f"/console/billers/{added.code}", status_code=303)
    shown = Shown(KEY_SHOWN, key, f"/console/billers/{added.code}")
    return await _detail(request, added.code, Outcome(message=words("Utility added."), shown=shown))


async def _detail(request: Request, code: str, outcome: Outcome = PLAIN) -> Response:
    async with host(request).engine.connect() as conn:
        biller = await repository.by_code(conn, code)
        parent = None
        if biller is not None and biller.parent_id is not None:
            parent = await repository.by_id(conn, biller.parent_id)
    if biller is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no utility {code}")
    return render_outcome(request, "biller.html", outcome, biller=biller, parent=parent)


@router.get("/billers/{code}")
async def biller_page(request: Request, staff: Manager, code: Code) -> Response:
    return await _detail(request, code)


async def _update(
    request: Request,
    staff: Staff,
    code: str,
    done: str,
    *,
    name: str | None = None,
    status: BillerStatus | None = None,
    remote: RemoteSettings | None = None,
    reason: str = "",
    shown: Shown | None = None,
) -> Response:
    hub = host(request)
    try:
        async with hub.engine.begin() as conn:
            await billers.update_biller(
                conn, hub.clock, code, name=name, status=status, remote=remote,
                actor=staff.username, reason=reason.strip(),
            )  # fmt: skip
    except DomainError as exc:
        return await _detail(request, code, Outcome(400, error=exc.detail))
    return await _detail(request, code, Outcome(message=done, shown=shown))


@router.post("/billers/{code}/edit")
async def edit(
    request: Request,
    staff: Manager,
    code: Code,
    name: Short,
    url: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """The name; a remote utility's base URL too (the form shows it only for one)."""
    if not name.strip():
        return await _detail(request, code, Outcome(400, error=words("Give a name.")))
    remote = RemoteSettings(url=url.strip()) if url.strip() else None
    done = words("Utility saved.")
    return await _update(request, staff, code, done, name=name.strip(), remote=remote)


@router.post("/billers/{code}/status")
async def suspend_or_resume(
    request: Request,
    staff: Manager,
    code: Code,
    status: Annotated[BillerStatus, Form()],
    reason: Reason,
) -> Response:
    done = (
        words("Utility suspended.")
        if status is BillerStatus.SUSPENDED
        else words("Utility resumed.")
    )
    return await _update(request, staff, code, done, status=status, reason=reason)


@router.post("/billers/{code}/key")
async def rotate_key(request: Request, staff: Manager, code: Code, reason: Reason) -> Response:
    """A new key, made here and shown once; the old one stays accepted until retired, so
    the utility can switch without a refused call."""
    key = new_secret()
    shown = Shown(KEY_SHOWN, key, f"/console/billers/{code}")
    done = words("Key rotated: the previous key stays accepted until you retire it.")
    remote = RemoteSettings(key=key)
    return await _update(request, staff, code, done, remote=remote, reason=reason, shown=shown)


@router.post("/billers/{code}/retire-key")
async def retire_previous_key(
    request: Request, staff: Manager, code: Code, reason: Reason
) -> Response:
    remote = RemoteSettings(retire_previous_key=True)
    done = words("The previous key is retired: only the current one is accepted.")
    return await _update(request, staff, code, done, remote=remote, reason=reason)
