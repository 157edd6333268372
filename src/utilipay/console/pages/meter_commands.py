"""Meter commands (disconnect, reconnect): their state, attempts and what the head-end
answered, filtered by utility, state and the day they were decided. Utility staff see
only their utility's."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from utilipay.billers import repository as billers
from utilipay.clock import day_bounds
from utilipay.console.i18n import words
from utilipay.console.templating import render
from utilipay.console.visits import check_scope, host, needs
from utilipay.errors import DomainError, ErrorCode
from utilipay.headend.commands import CommandStatus, attempts_of, list_commands
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
Text = Annotated[str, Query(max_length=64)]
SHOWN = 200


def _bounds(since: str, until: str) -> tuple[datetime | None, datetime | None]:
    """``[since, until]`` as Asia/Shanghai days, to instants (``until`` whole)."""
    try:
        start = day_bounds(date.fromisoformat(since))[0] if since else None
        end = day_bounds(date.fromisoformat(until))[1] if until else None
    except ValueError:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, words("A date is YYYY-MM-DD.")) from None
    return start, end


def _status(text: str) -> CommandStatus | None:
    try:
        return CommandStatus(text) if text else None
    except ValueError:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, words("No such state.")) from None


@router.get("/meter-commands")
async def meter_commands(
    request: Request,
    staff: Annotated[Staff, needs(Permission.METER_COMMANDS_READ)],
    biller: Text = "",
    status: Text = "",
    since: Text = "",
    until: Text = "",
) -> Response:
    hub = host(request)
    async with hub.engine.connect() as conn:
        everyone = await billers.all_billers(conn)
    chosen = next((b for b in everyone if b.code == biller), None)
    if biller and chosen is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no biller {biller}")
    if chosen is not None:
        await check_scope(request, staff, chosen.id, f"meter commands of {biller}")
    async with hub.engine.connect() as conn:
        commands = await list_commands(
            conn, biller_id=chosen.id if chosen else None, status=_status(status),
            billers=staff.billers, decided=_bounds(since, until), limit=SHOWN,
        )  # fmt: skip
        attempts = await attempts_of(conn, commands)
    utilities = [b for b in everyone if staff.may_see(b.id)]
    codes = {b.id: b.code for b in utilities}
    filters = {"biller": biller, "status": status, "since": since, "until": until}
    return render(
        request, "meter_commands.html", commands=commands, attempts=attempts, codes=codes,
        utilities=utilities, states=list(CommandStatus), filters=filters, shown=SHOWN,
    )  # fmt: skip
