"""Agent channels' outlets (channel-api.md §11): the list with each float, and an
outlet's page with its float, owner, deposit reference, terminals, operators and recent
deposits. Operations act on it through the same services as ``utilipay outlets|terminals|
operators …``, each change audited with who (and why, where the service keeps a reason).

Outlets are the channel's, no utility's: operations manage them, auditors and customer
service read them, utility staff do not see them. A terminal's secret is shown once, on
the answer to the form that made it (as the channels' secrets are: ``admin_forms``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.channels import repository as channels
from utilipay.channels.schemas import ChannelKind
from utilipay.console.i18n import words
from utilipay.console.pages.admin_forms import PLAIN, Outcome, Shown, render_outcome
from utilipay.console.templating import render
from utilipay.console.visits import host, needs
from utilipay.errors import DomainError, ErrorCode
from utilipay.outlets import deposits, repository, service, terminal_admin
from utilipay.outlets.repository import Outlet, OutletFilter, Terminal
from utilipay.outlets.schemas import OperatorStatus, OutletStatus, TerminalType
from utilipay.recon.sources.common import to_fen
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
Reader = Annotated[Staff, needs(Permission.OUTLETS_READ)]
Manager = Annotated[Staff, needs(Permission.OUTLETS_MANAGE)]
Code = Annotated[str, Path(max_length=32)]
TerminalId = Annotated[str, Path(max_length=64)]
Text = Annotated[str, Form(max_length=200)]
Reason = Annotated[str, Form(max_length=500)]
RECENT_DEPOSITS = 20
SECRET_SHOWN = words("The terminal's secret")
# What a form did, said on the outlet's page it redirects to (?done=…)
DONE = {
    "suspended": words("Outlet suspended: its terminals are refused until it is resumed."),
    "resumed": words("Outlet resumed."),
    "saved": words("Outlet saved."),
    "issued": words("Terminal issued: give the outlet its id and secret."),
    "rotated": words("Secret rotated: the previous one stays accepted until the next rotation."),
    "revoked": words("Terminal revoked: its requests are refused from now on."),
    "operator-added": words("Operator added."),
    "operator-disabled": words("Operator disabled."),
    "operator-enabled": words("Operator enabled."),
    "deposit": words("Deposit recorded: the float is credited."),
}
AMOUNT_REFUSED = words(
    "Type the deposit in yuan, more than zero, with at most two decimals (e.g. 1,234.50)."
)
THRESHOLD_REFUSED = words(
    "Type the low-float threshold in yuan, zero or more, with at most two decimals (e.g. 500)."
)


def _refused(detail: str) -> DomainError:
    return DomainError(ErrorCode.MALFORMED_REQUEST, detail)


def fen_from_yuan(typed: str, *, least: int, refusal: str) -> int:
    """Yuan as a person types them ('1,234.5', '800') → fen, exactly: the digits are read
    as a decimal, never as a float."""
    try:
        fen = to_fen(typed)
    except ValueError:
        raise _refused(refusal) from None
    if fen < least:
        raise _refused(refusal)
    return fen


def _reason(typed: str) -> str:
    if not typed.strip():
        raise _refused(words("Say why: a reason is required."))
    return typed.strip()


def _own_page(channel: str, code: str) -> str:
    return f"/console/outlets/{channel}/{code}"


@router.get("/outlets")
async def list_outlets(
    request: Request,
    staff: Reader,
    channel: Annotated[str, Query(max_length=32)] = "",
    region: Annotated[str, Query(max_length=200)] = "",
    low: bool = False,
) -> Response:
    where = OutletFilter(channel or None, region or None, low)
    async with host(request).engine.connect() as conn:
        found = await repository.outlets_of(conn, where)
        agents = [c for c in await channels.all_channels(conn) if c.kind is ChannelKind.AGENT]
        regions = await repository.regions(conn)
    return render(
        request, "outlets.html", outlets=found, channels=agents, regions=regions,
        filters={"channel": channel, "region": region, "low": low},
    )  # fmt: skip


async def _outlet_page(
    request: Request,
    staff: Staff,
    channel: str,
    code: str,
    outcome: Outcome = PLAIN,
    entered: Mapping[str, str] | None = None,
    *,
    secret_of: str = "",
) -> Response:
    async with host(request).engine.connect() as conn:
        found = await service.find(conn, channel, code)
        terminals = [t for _, t in await repository.terminals_of(conn, outlet_id=found.id)]
        operators = await repository.operators_of(conn, found.id)
        recent = await repository.deposits_of(conn, found.id, limit=RECENT_DEPOSITS)
    return render_outcome(
        request, "outlet.html", outcome, outlet=found, terminals=terminals,
        operators=operators, deposits=recent, terminal_types=list(TerminalType),
        may_manage=staff.may(Permission.OUTLETS_MANAGE), entered=entered or {},
        secret_of=secret_of,
    )  # fmt: skip


@router.get("/outlets/{channel}/{code}")
async def outlet_page(
    request: Request,
    staff: Reader,
    channel: Code,
    code: Code,
    done: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    return await _outlet_page(request, staff, channel, code, Outcome(message=DONE.get(done, "")))


Made = tuple[Terminal, str]  # a terminal and its new secret, to be shown once
Change = Callable[[AsyncConnection, Outlet], Awaitable[Made | None]]


async def _act(
    request: Request,
    staff: Staff,
    where: tuple[str, str],
    done: str,
    change: Change,
    entered: Mapping[str, str],
) -> Response:
    """Make one change to the outlet in one transaction. Refused: the outlet's page again
    with why and what was typed (400), nothing written. Done: a secret is shown on this
    answer; anything else redirects to the outlet's page, saying what was done."""
    hub = host(request)
    channel, code = where
    try:
        async with hub.engine.begin() as conn:
            made = await change(conn, await service.find(conn, channel, code))
    except DomainError as exc:  # no such outlet: the page's own find makes it the 404 page
        outcome = Outcome(400, error=exc.detail)
        return await _outlet_page(request, staff, channel, code, outcome, entered)
    if made is not None:
        terminal, secret = made
        shown = Shown(SECRET_SHOWN, secret, _own_page(channel, code))
        outcome = Outcome(message=DONE[done], shown=shown)
        return await _outlet_page(request, staff, channel, code, outcome, secret_of=terminal.id)
    return RedirectResponse(f"{_own_page(channel, code)}?done={done}", status_code=303)


@router.post("/outlets/{channel}/{code}/status")
async def suspend_or_resume(
    request: Request,
    staff: Manager,
    channel: Code,
    code: Code,
    status: Annotated[OutletStatus, Form()],
    reason: Reason = "",
) -> Response:
    async def change(conn: AsyncConnection, outlet: Outlet) -> None:
        await service.set_status(
            conn, host(request).clock, channel, code, status, actor=staff.username,
            reason=_reason(reason),
        )  # fmt: skip

    done = "suspended" if status is OutletStatus.SUSPENDED else "resumed"
    return await _act(request, staff, (channel, code), done, change, {"status.reason": reason})


@router.post("/outlets/{channel}/{code}/edit")
async def edit(
    request: Request,
    staff: Manager,
    channel: Code,
    code: Code,
    low_threshold: Annotated[str, Form(max_length=40)],
    owner_name: Text = "",
    owner_phone: Text = "",
    owner_email: Text = "",
    reason: Reason = "",
) -> Response:
    """The low-float threshold (yuan) and the owner's contacts (empty: none)."""
    typed = {"low_threshold": low_threshold, "owner_name": owner_name,
             "owner_phone": owner_phone, "owner_email": owner_email, "reason": reason}  # fmt: skip

    async def change(conn: AsyncConnection, outlet: Outlet) -> None:
        threshold = fen_from_yuan(low_threshold, least=0, refusal=THRESHOLD_REFUSED)
        await service.update_outlet(
            conn, host(request).clock, channel, code, low_threshold=threshold,
            owner_name=owner_name.strip(), owner_phone=owner_phone.strip(),
            owner_email=owner_email.strip(), actor=staff.username, reason=_reason(reason),
        )  # fmt: skip

    entered = {f"edit.{name}": value for name, value in typed.items()}
    return await _act(request, staff, (channel, code), "saved", change, entered)


@router.post("/outlets/{channel}/{code}/deposits")
async def record_deposit(
    request: Request,
    staff: Manager,
    channel: Code,
    code: Code,
    amount: Annotated[str, Form(max_length=40)],
    bank_reference: Annotated[str, Form(max_length=200)],
    reason: Reason = "",
) -> Response:
    """A transfer seen on the hub's bank account, typed in yuan by a person."""

    async def change(conn: AsyncConnection, outlet: Outlet) -> None:
        await deposits.record_deposit(
            conn, host(request).clock, channel=channel, outlet=code,
            amount=fen_from_yuan(amount, least=1, refusal=AMOUNT_REFUSED),
            bank_reference=bank_reference, actor=staff.username, reason=_reason(reason),
        )  # fmt: skip

    entered = {"deposit.amount": amount, "deposit.bank_reference": bank_reference,
               "deposit.reason": reason}  # fmt: skip
    return await _act(request, staff, (channel, code), "deposit", change, entered)


# Terminals


async def _terminal_of(conn: AsyncConnection, outlet: Outlet, terminal_id: str) -> None:
    """Refuse a terminal of another outlet under this outlet's address."""
    found = await repository.terminal(conn, terminal_id)
    if found is None or found.outlet_id != outlet.id:
        raise _refused(f"no terminal {terminal_id} at outlet {outlet.key}")


@router.post("/outlets/{channel}/{code}/terminals")
async def issue_terminal(
    request: Request,
    staff: Manager,
    channel: Code,
    code: Code,
    type: Annotated[TerminalType, Form()],
    label: Text,
) -> Response:
    async def change(conn: AsyncConnection, outlet: Outlet) -> Made:
        return await terminal_admin.add_terminal(
            conn, host(request).clock, channel=channel, outlet=code, type=type, label=label,
            actor=staff.username,
        )  # fmt: skip

    entered = {"terminal.type": str(type), "terminal.label": label}
    return await _act(request, staff, (channel, code), "issued", change, entered)


class TerminalChange(StrEnum):
    ROTATE = "rotate"
    REVOKE = "revoke"


@router.post("/outlets/{channel}/{code}/terminals/change")
async def rotate_or_revoke(
    request: Request,
    staff: Manager,
    channel: Code,
    code: Code,
    terminal: Annotated[str, Form(max_length=64)],
    action: Annotated[TerminalChange, Form()],
    reason: Reason = "",
) -> Response:
    """Rotate a terminal's secret (the new one shown once; the old one stays accepted as
    the previous secret) or revoke the terminal for good."""

    async def change(conn: AsyncConnection, outlet: Outlet) -> Made | None:
        await _terminal_of(conn, outlet, terminal)
        clock, who, why = host(request).clock, staff.username, _reason(reason)
        if action is TerminalChange.REVOKE:
            await terminal_admin.revoke_terminal(conn, clock, terminal, actor=who, reason=why)
            return None
        return await terminal_admin.rotate_terminal(conn, clock, terminal, actor=who, reason=why)

    done = "rotated" if action is TerminalChange.ROTATE else "revoked"
    entered = {"terminal-change.terminal": terminal, "terminal-change.reason": reason}
    return await _act(request, staff, (channel, code), done, change, entered)


# Operators


@router.post("/outlets/{channel}/{code}/operators")
async def add_operator(
    request: Request,
    staff: Manager,
    channel: Code,
    code: Code,
    operator: Annotated[str, Form(max_length=32)],
    name: Text,
) -> Response:
    async def change(conn: AsyncConnection, outlet: Outlet) -> None:
        await terminal_admin.add_operator(
            conn, host(request).clock, channel=channel, outlet=code, code=operator.strip(),
            name=name, actor=staff.username,
        )  # fmt: skip

    entered = {"operator.code": operator, "operator.name": name}
    return await _act(request, staff, (channel, code), "operator-added", change, entered)


@router.post("/outlets/{channel}/{code}/operators/status")
async def operator_status(
    request: Request,
    staff: Manager,
    channel: Code,
    code: Code,
    operator: Annotated[str, Form(max_length=32)],
    status: Annotated[OperatorStatus, Form()],
    reason: Reason = "",
) -> Response:
    """Disable an operator (refused at the terminals from then on) or enable one again."""

    async def change(conn: AsyncConnection, outlet: Outlet) -> None:
        await terminal_admin.set_operator_status(
            conn, host(request).clock, channel=channel, outlet=code, code=operator.strip(),
            status=status, actor=staff.username, reason=_reason(reason),
        )  # fmt: skip

    done = "operator-disabled" if status is OperatorStatus.DISABLED else "operator-enabled"
    entered = {"operator-status.operator": operator, "operator-status.reason": reason}
    return await _act(request, staff, (channel, code), done, change, entered)
