"""What the auto-pay and smart-payment pages share: amounts typed in yuan, refusals with
the API's codes in the payer's words, the verified binding they all need, and sending the payer to
the channel's cashier to authorise a sign-up (``cashier.signup_link``)."""

from __future__ import annotations

import re

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.billers.schemas import Biller
from utilipay.bindings.service import verified_binding
from utilipay.channels.schemas import Channel
from utilipay.console.i18n import words
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5 import store
from utilipay.h5.cashier import signup_link
from utilipay.h5.problems import said
from utilipay.h5.store import Signup
from utilipay.h5.templating import headers
from utilipay.h5.visits import Refused
from utilipay.http.json import describe
from utilipay.http.problems import status_of

_YUAN = re.compile(r"(\d{1,15})(?:\.(\d{1,2}))?")
UNVERIFIED = words(
    "This account must be verified first: open it in My accounts and choose Verify this account."
)
NO_CASHIER = words("Signing up from these pages is not set up for this app yet.")


def fen_of(typed: str) -> int | str:
    """Yuan as typed ("12", "12.5") in fen; anything else as typed, so the API's schema
    refuses it with the API's words."""
    found = _YUAN.fullmatch(typed.strip())
    if found is None:
        return typed
    return int(found[1]) * 100 + int((found[2] or "").ljust(2, "0"))


def typed_yuan(fen: int) -> str:
    """An amount as a payer would type it: 100000 → "1000", 1250 → "12.50"."""
    whole, cents = divmod(fen, 100)
    return f"{whole}.{cents:02d}" if cents else str(whole)


def refusal(request: Request, exc: DomainError | ValidationError) -> tuple[int, str]:
    """A refusal with the API's status and code, in the payer's words (``problems.said``)."""
    if isinstance(exc, ValidationError):
        details = describe(exc.errors(include_url=False, include_input=False))
        return 400, said(request, DomainError(ErrorCode.MALFORMED_REQUEST, details))
    return status_of(exc.code), said(request, exc)


async def require_verified(
    conn: AsyncConnection, channel: Channel, biller: Biller, payer: str, account_no: str
) -> None:
    """Auto-pay and smart payment act only on a verified binding (§13): an unverified one is
    a page saying so; none at all is left to the service's own refusal."""
    try:
        await verified_binding(conn, channel, biller, payer, account_no)
    except DomainError as exc:
        if exc.code is ErrorCode.VERIFICATION_REQUIRED:
            raise Refused(403, UNVERIFIED) from None
        raise


async def to_cashier(
    request: Request, engine: AsyncEngine, channel: Channel, signup: Signup
) -> Response:
    """Keep the sign-up request and send the payer to authorise it at the channel."""
    if channel.cashier_url is None:
        raise Refused(409, NO_CASHIER)
    async with engine.begin() as conn:
        await store.add_signup(conn, signup)
    back = str(request.url_for("signup_page", signup_id=signup.id))
    target = signup_link(channel, signup, back, int(signup.created_at.timestamp()))
    return RedirectResponse(target, status_code=303, headers=headers(None))
