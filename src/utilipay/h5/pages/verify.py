"""Binding with the utility's verification (channel-api.md §13), a step after choosing the
utility and the account (``accounts.add_binding`` sends the payer here when the utility asks
for a proof), and verifying a binding made before the utility asked for one.

The utility's mode decides the fields: the holder's full name, or an SMS code sent to the
phone on record (the page shows the phone masked). Plain forms, no script needed. The API's
models, binding and challenge code do the work, so the rules and codes are the API's; a
refusal is shown in a payer's words with its code. The API gives one refusal for every wrong
proof; the page, for its own payer, says why a code failed (tries left, expired, spent).
A code or a name typed is never put back into a page, and nothing here logs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from utilipay.billers.lookup import active_biller
from utilipay.billers.schemas import Biller, Verification
from utilipay.bindings import service as bindings_service
from utilipay.bindings.binding import bind
from utilipay.bindings.challenges import MAX_TRIES, VALID_FOR, Challenge, newest_code, send_code
from utilipay.bindings.schemas import ChallengeRequest, VerificationRequest
from utilipay.clock import SHANGHAI
from utilipay.console.i18n import words
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5.pages.accounts import hub_of
from utilipay.h5.problems import sentence_of
from utilipay.h5.templating import render
from utilipay.h5.visits import Payer, Refused, Visitor
from utilipay.http.json import describe
from utilipay.http.problems import status_of

router = APIRouter()
VALID_MINUTES = int(VALID_FOR.total_seconds() // 60)
Field = Annotated[str, Form(max_length=200)]

# What a refusal means on this step, where it differs from what it means on any page
# (``problems.SENTENCES``): the API's one refusal of a wrong proof, and the proof asked for
_ON_THIS_STEP: dict[ErrorCode, str] = {
    ErrorCode.FORBIDDEN: words("The name does not match the utility's records."),
    ErrorCode.VERIFICATION_REQUIRED: words("This utility needs the proof asked for below."),
}
# Why a code was refused, from the state of the payer's newest one.
_NO_CODE = words("Ask for a code first.")
_SPENT = words("That code was wrong too many times and can no longer be used. Ask for a new code.")
_EXPIRED = words(
    "That code has expired: a code is valid for {minutes} minutes. Ask for a new code."
)
_CLOSED = words("That code can no longer be used. Ask for a new code.")
_WRONG_CODE = words("That code is not right. Tries left: {tries}.")


@dataclass(frozen=True, slots=True)
class Trouble:
    """Why a step was refused: English translated where shown, and the API's code."""

    code: ErrorCode
    text: str
    values: dict[str, object] = field(default_factory=dict)


def _clock_time(instant: datetime) -> str:
    return f"{instant.astimezone(SHANGHAI):%H:%M}"


async def _utility(request: Request, payer: Payer, biller: str, account: str) -> Biller:
    """The utility named, active, and the account number fitting its rule (as the API's)."""
    hub = hub_of(request)
    try:
        wanted = ChallengeRequest.model_validate(
            {"payer": payer.payer, "biller": biller, "account": account}
        )
    except ValidationError as exc:
        raise Refused(400, describe(exc.errors())) from exc
    found = active_biller(hub.biller(wanted.biller), wanted.biller)
    found.rule.check(found.code, wanted.account)
    return found


async def _page(
    request: Request, payer: Payer, biller: Biller, account: str, *,
    trouble: Trouble | None = None, sent: Challenge | None = None,
) -> Response:  # fmt: skip
    """The step's page; with a trouble, the API's status for its code."""
    status = status_of(trouble.code) if trouble else 200
    hub = hub_of(request)
    async with hub.engine.connect() as conn:
        binding = await bindings_service.live_binding(
            conn, payer.channel, biller, payer.payer, account
        )
    return render(
        request, "verify.html", status_code=status, biller=biller, account=account,
        by_sms=biller.verification is Verification.SMS, binding=binding, trouble=trouble,
        sent=sent, until=_clock_time(sent.expires_at) if sent else "", minutes=VALID_MINUTES,
        tries=MAX_TRIES,
    )  # fmt: skip


@router.get("/verify")
async def verify_page(
    request: Request,
    payer: Visitor,
    biller: Annotated[str, Query(max_length=200)] = "",
    account: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    found = await _utility(request, payer, biller, account)
    return await _page(request, payer, found, account)


@router.post("/verify/code")
async def ask_code(
    request: Request, payer: Visitor, biller: Field = "", account: Field = ""
) -> Response:
    """Send a code to the phone on record (the API's challenge, its brakes and codes)."""
    hub = hub_of(request)
    found = await _utility(request, payer, biller, account)
    try:
        async with hub.engine.begin() as conn:
            sent = await send_code(conn, hub.clock, payer.channel, found, payer.payer, account)
    except DomainError as exc:
        return await _page(request, payer, found, account, trouble=_refusal(request, exc))
    return await _page(request, payer, found, account, sent=sent)


@router.post("/verify")
async def verify(
    request: Request, payer: Visitor, biller: Field = "", account: Field = "",
    holder_name: Annotated[str, Form(max_length=200)] = "",
    sms_code: Annotated[str, Form(max_length=200)] = "",
) -> Response:  # fmt: skip
    """Bind (or verify the binding) with the proof given, as ``POST /v1/bindings`` does."""
    found = await _utility(request, payer, biller, account)
    given = {"holder_name": holder_name.strip(), "sms_code": sms_code.strip()}
    try:
        proof = VerificationRequest.model_validate({k: v for k, v in given.items() if v})
    except ValidationError as exc:
        trouble = Trouble(ErrorCode.MALFORMED_REQUEST, describe(exc.errors()))
        return await _page(request, payer, found, account, trouble=trouble)
    try:
        result = await bind(hub_of(request), payer.channel, found, payer.payer, account, proof)
    except DomainError as exc:
        if exc.code is ErrorCode.FORBIDDEN and proof.sms_code is not None:
            trouble = await _code_refusal(request, payer, found, account)
        else:
            trouble = _refusal(request, exc)
        return await _page(request, payer, found, account, trouble=trouble)
    return RedirectResponse(f"/h5/accounts/{result.binding.id}", status_code=303)


def _refusal(request: Request, exc: DomainError) -> Trouble:
    if exc.code is ErrorCode.RATE_LIMITED:
        wait = timedelta(seconds=int(exc.extra.get("retry_after", 60)))
        again = _clock_time(hub_of(request).clock.now() + wait)
        return Trouble(
            exc.code, words("Too many tries. Please try again after {time}."), {"time": again}
        )
    return Trouble(exc.code, _ON_THIS_STEP.get(exc.code) or sentence_of(exc))


async def _code_refusal(request: Request, payer: Payer, biller: Biller, account: str) -> Trouble:
    """Why the payer's code was refused, from the state of the payer's own newest code."""
    hub = hub_of(request)
    async with hub.engine.connect() as conn:
        state = await newest_code(conn, hub.clock, payer.channel, biller, payer.payer, account)
    if state is None:
        text = _NO_CODE
    elif state.closed_why == "TOO_MANY_TRIES":
        text = _SPENT
    elif state.expired:
        text = _EXPIRED
    elif state.closed_why is not None:  # used or replaced
        text = _CLOSED
    else:
        text = _WRONG_CODE
    values: dict[str, object] = {
        "minutes": VALID_MINUTES,
        "tries": state.tries_left if state else MAX_TRIES,
    }
    return Trouble(ErrorCode.FORBIDDEN, text, values)
