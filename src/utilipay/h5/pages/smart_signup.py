"""Signing smart payment up (智能交费) for a prepaid account the payer has bound and
verified: a reminder amount and, optionally, an automatic top-up. Without a top-up the
hub enrols it at once (``enrolments.enrol``); with one the channel must authorise the
top-up's funding sources and password, so the payer goes to its cashier like auto-pay
(the channel calls ``POST /v1/prepaid/enrolments`` with the request's ``signup_id``).
The amounts are changed later here directly (``enrolments.change``). The balance, usage
and statements are the prepaid pages' (``/h5/prepaid/{binding_id}``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from utilipay.accounts.connector import AccountsHost
from utilipay.autopay import enrolments, mandates
from utilipay.autopay.enrolments import Enrolment
from utilipay.autopay.schemas import EnrolmentChange, EnrolmentRequest
from utilipay.billers.lookup import active_biller, held_biller
from utilipay.billers.schemas import Biller
from utilipay.bindings.schemas import Binding
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5.pages.accounts import hub_of, payers_binding
from utilipay.h5.signups import fen_of, refusal, require_verified, to_cashier
from utilipay.h5.store import Signup
from utilipay.h5.templating import render
from utilipay.h5.visits import Payer, Visitor
from utilipay.ids import new_id

router = APIRouter()
Typed = Annotated[str, Form(max_length=200)]


async def _enrolment(
    hub: AccountsHost, payer: Payer, biller: Biller, binding: Binding
) -> Enrolment | None:
    """The payer's enrolment of this account at this channel, if any (its binding verified)."""
    async with hub.engine.connect() as conn:
        await require_verified(conn, payer.channel, biller, payer.payer, binding.account_no)
        found = await enrolments.for_payer(
            conn, payer.channel, payer.payer, lambda b: held_biller(hub, b)
        )
    mine = (e for e in found if e.account.biller_id == biller.id)
    return next((e for e in mine if e.account.account_no == binding.account_no), None)


async def _smart_page(
    request: Request, payer: Payer, binding_id: str, status: int = 200, error: str = ""
) -> Response:
    hub = hub_of(request)
    binding = await payers_binding(request, payer, binding_id)
    biller = active_biller(hub.biller(binding.biller), binding.biller)
    enrolment = await _enrolment(hub, payer, biller, binding)
    return render(request, "autopay_smart.html", status_code=status, binding=binding,
                  enrolment=enrolment, error=error)  # fmt: skip


@router.get("/autopay/smart/{binding_id}")
async def smart_page(request: Request, binding_id: str, payer: Visitor) -> Response:
    return await _smart_page(request, payer, binding_id)


def _amounts(reminder: str, topup: str) -> EnrolmentChange:
    """The amounts typed, by the API's schema (a blank top-up: none)."""
    top_up = fen_of(topup) if topup.strip() else None
    return EnrolmentChange.model_validate({"reminder": fen_of(reminder), "topup_amount": top_up})


async def _enrol_now(
    hub: AccountsHost, payer: Payer, biller: Biller, binding: Binding, reminder: int | None
) -> Response:
    """No top-up: nothing for the channel to authorise, enrolled as the API enrols."""
    wanted = EnrolmentRequest.model_validate({
        "payer": payer.payer, "biller": biller.code, "account": binding.account_no,
        "reminder": reminder,
    })  # fmt: skip
    async with hub.engine.begin() as conn:
        await enrolments.enrol(conn, hub.clock, payer.channel, biller, wanted)
    return RedirectResponse(f"/h5/autopay/smart/{binding.id}", status_code=303)


@router.post("/autopay/smart/{binding_id}")
async def sign_up(
    request: Request, binding_id: str, payer: Visitor, reminder: Typed = "", topup: Typed = ""
) -> Response:
    hub = hub_of(request)
    binding = await payers_binding(request, payer, binding_id)
    biller = active_biller(hub.biller(binding.biller), binding.biller)
    try:
        amounts = _amounts(reminder, topup)
        if amounts.topup_amount is None:
            return await _enrol_now(hub, payer, biller, binding, amounts.reminder)
        # the top-up's mandate gets the biller's default cap: checked before the cashier
        top_up = mandates.check_topup_amount(amounts.topup_amount, biller.mandate_default_cap)
        mandates.require_debit_url(payer.channel)
    except (ValidationError, DomainError) as exc:
        status, why = refusal(request, exc)
        return await _smart_page(request, payer, binding_id, status, why)
    signup = Signup(
        id=new_id("S"), channel_code=payer.channel.code, payer=payer.payer,
        binding_id=binding.id, kind="smart", biller_code=biller.code,
        account_no=binding.account_no, cap=None, reminder=amounts.reminder,
        topup_amount=top_up, created_at=hub.clock.now(),
    )  # fmt: skip
    return await to_cashier(request, hub.engine, payer.channel, signup)


@router.post("/autopay/smart/{binding_id}/change")
async def change(
    request: Request, binding_id: str, payer: Visitor, reminder: Typed = "", topup: Typed = ""
) -> Response:
    """The reminder and, if there is one, the top-up's amount (blank: stop topping up)."""
    hub = hub_of(request)
    binding = await payers_binding(request, payer, binding_id)
    biller = active_biller(hub.biller(binding.biller), binding.biller)
    enrolment = await _enrolment(hub, payer, biller, binding)
    if enrolment is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such enrolment")
    try:
        amounts = _amounts(reminder, topup)
        named = {"reminder"} | ({"topup_amount"} if enrolment.mandate else set())
        patch = EnrolmentChange.model_validate(amounts.model_dump(include=named))
        async with hub.engine.begin() as conn:
            row = await enrolments.find_row(conn, payer.channel, enrolment.id)
            await enrolments.change(conn, hub.clock, payer.channel, biller, row, patch)
    except (ValidationError, DomainError) as exc:
        status, why = refusal(request, exc)
        return await _smart_page(request, payer, binding_id, status, why)
    return RedirectResponse(f"/h5/autopay/smart/{binding.id}", status_code=303)
