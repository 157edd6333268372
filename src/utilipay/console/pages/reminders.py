"""An account's reminders, changed from its page by customer service or the utility's staff
(a payer on the phone: "remind me by SMS, a week before") through notify's own service,
audited with who and why."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.billers.schemas import IntegrationMode
from utilipay.bindings.reminders import ReminderChoice
from utilipay.console.i18n import words
from utilipay.console.pages.accounts import accounts_host, seen_biller
from utilipay.console.visits import needs
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.json import describe
from utilipay.notify.choices import change_account_choice
from utilipay.staff.roles import Permission, Staff

router = APIRouter()


@router.post("/accounts/{biller}/{account}/reminders")
async def change_reminders(
    request: Request,
    staff: Annotated[Staff, needs(Permission.REMINDERS_MANAGE)],
    biller: str,
    account: str,
    kinds: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies a default
    means: Annotated[list[str], Form()] = [],  # noqa: B006
    days_before: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    reset: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """The form says every field; an empty number of days (or the reset button) leaves it
    to the utility's default."""
    found = await seen_biller(request, staff, biller, f"account {biller}/{account}")
    if found.mode is not IntegrationMode.HOSTED:
        refused = words("Only a hosted account has reminders.")
        raise DomainError(ErrorCode.MALFORMED_REQUEST, refused)
    patch = _choice(kinds, means, days_before, reset=bool(reset))
    hub = accounts_host(request)
    async with hub.engine.begin() as conn:
        await change_account_choice(
            conn, hub.clock, found, account, patch, actor=staff.username, reason=reason.strip()
        )
    target = f"/console/accounts/{quote(biller, safe='')}/{quote(account, safe='')}"
    return RedirectResponse(target, status_code=303)


def _choice(kinds: list[str], means: list[str], days: str, *, reset: bool) -> ReminderChoice:
    if reset:
        return ReminderChoice(kinds=None, days_before=None, means=None)
    try:
        return ReminderChoice.model_validate(
            {
                "kinds": kinds,
                "means": means,
                "days_before": int(days) if days.strip() else None,
            }
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError, so is int()'s
        detail = describe(exc.errors()) if isinstance(exc, ValidationError) else str(exc)
        raise DomainError(ErrorCode.MALFORMED_REQUEST, detail) from None
