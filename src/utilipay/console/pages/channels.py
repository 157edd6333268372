"""Payment channels (wallets, banks), for platform administrators: the list, adding one,
its name and webhook URL, suspending and resuming it, and its signing secret: rotated to
a new one the hub makes (shown once; the previous one stays accepted until retired, as
``utilipay channels update --retire-previous-secret`` does). The same service calls as
``utilipay channels …``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path
from starlette.requests import Request
from starlette.responses import Response

from utilipay.channels import repository
from utilipay.channels import service as channels
from utilipay.channels.schemas import ChannelStatus
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
Manager = Annotated[Staff, needs(Permission.CHANNELS_MANAGE)]
Code = Annotated[str, Path(max_length=32)]
Url = Annotated[str, Form(max_length=500)]
Name = Annotated[str, Form(max_length=200)]
SECRET_SHOWN = words("The channel's new signing secret")


def _own_page(code: str) -> str:
    return f"/console/channels/{code}"


@router.get("/channels")
async def list_channels(request: Request, staff: Manager) -> Response:
    return await _list(request)


async def _list(request: Request, outcome: Outcome = PLAIN) -> Response:
    async with host(request).engine.connect() as conn:
        found = await repository.all_channels(conn)
    return render_outcome(request, "channels.html", outcome, channels=found)


@router.post("/channels")
async def add_channel(
    request: Request,
    staff: Manager,
    code: Annotated[str, Form(max_length=32)],
    name: Name = "",
    webhook_url: Url = "",
) -> Response:
    hub = host(request)
    secret = new_secret()
    try:
        async with hub.engine.begin() as conn:
            added = await channels.add_channel(
                conn, hub.clock, code=code.strip(), secret=secret, name=name.strip() or None,
                webhook_url=webhook_url.strip() or None, actor=staff.username,
            )  # fmt: skip
    except DomainError as exc:
        return await _list(request, Outcome(400, error=exc.detail))
    shown = Shown(SECRET_SHOWN, secret, _own_page(added.code))
    return await _channel(
        request, added.code, Outcome(message=words("Channel added."), shown=shown)
    )


async def _channel(request: Request, code: str, outcome: Outcome = PLAIN) -> Response:
    async with host(request).engine.connect() as conn:
        channel = await repository.by_code(conn, code)
    if channel is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no channel {code}")
    return render_outcome(request, "channel.html", outcome, channel=channel)


@router.get("/channels/{code}")
async def channel_page(request: Request, staff: Manager, code: Code) -> Response:
    return await _channel(request, code)


async def _change(
    request: Request,
    staff: Staff,
    code: str,
    done: str,
    *,
    edits: tuple[str, str] | None = None,  # name, webhook URL
    status: ChannelStatus | None = None,
    new_secret: str | None = None,
    retire_previous_secret: bool = False,
    reason: str = "",
    shown: Shown | None = None,
) -> Response:
    name, webhook_url = edits or (None, None)
    hub = host(request)
    try:
        async with hub.engine.begin() as conn:
            await channels.update_channel(
                conn, hub.clock, code, name=name, webhook_url=webhook_url, status=status,
                new_secret=new_secret, retire_previous_secret=retire_previous_secret,
                actor=staff.username, reason=reason.strip(),
            )  # fmt: skip
    except DomainError as exc:
        return await _channel(request, code, Outcome(400, error=exc.detail))
    return await _channel(request, code, Outcome(message=done, shown=shown))


@router.post("/channels/{code}/edit")
async def edit(
    request: Request, staff: Manager, code: Code, name: Name, webhook_url: Url = ""
) -> Response:
    """Name and webhook URL; an empty URL removes it (no webhooks)."""
    edits = (name, webhook_url.strip())
    return await _change(request, staff, code, words("Channel saved."), edits=edits)


@router.post("/channels/{code}/status")
async def suspend_or_resume(
    request: Request,
    staff: Manager,
    code: Code,
    status: Annotated[ChannelStatus, Form()],
    reason: Reason,
) -> Response:
    done = (
        words("Channel suspended.")
        if status is ChannelStatus.DISABLED
        else words("Channel resumed.")
    )
    return await _change(request, staff, code, done, status=status, reason=reason)


@router.post("/channels/{code}/secret")
async def rotate_secret(request: Request, staff: Manager, code: Code, reason: Reason) -> Response:
    secret = new_secret()
    shown = Shown(SECRET_SHOWN, secret, _own_page(code))
    done = words("Secret rotated: the previous secret stays accepted until you retire it.")
    return await _change(request, staff, code, done, new_secret=secret, reason=reason, shown=shown)


@router.post("/channels/{code}/retire-secret")
async def retire_previous_secret(
    request: Request, staff: Manager, code: Code, reason: Reason
) -> Response:
    done = words("The previous secret is retired: only the current one is accepted.")
    return await _change(request, staff, code, done, retire_previous_secret=True, reason=reason)
