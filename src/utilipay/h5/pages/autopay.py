"""Signing auto-pay up (自动缴费签约), Alipay's five steps: (1) bind the account number,
verified by the holder's name; (2) choose the utility; (3) agree to the terms and the cap
per bill; (4) at the channel's cashier: the funding sources and the payment password (the
hub never sees either); (5) the mandate signed. Step 3 keeps a sign-up request and sends
the payer to step 4 (``signups.to_cashier``); the channel signs the mandate with the
request's id (``POST /v1/mandates`` ``signup_id``) and sends the payer back to step 5."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from utilipay.autopay import mandates
from utilipay.autopay.schemas import Mandate, MandateChange, MandateStatus
from utilipay.billers.lookup import active_biller
from utilipay.billers.schemas import Biller
from utilipay.bindings import service as bindings_service
from utilipay.bindings.binding import bind
from utilipay.bindings.schemas import Binding, BindingRequest
from utilipay.console.i18n import words
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5 import store
from utilipay.h5.pages.accounts import hub_of, payers_binding
from utilipay.h5.signups import fen_of, refusal, require_verified, to_cashier, typed_yuan
from utilipay.h5.store import Signup
from utilipay.h5.templating import render
from utilipay.h5.visits import Payer, Visitor
from utilipay.ids import new_id

router = APIRouter()
NOT_AGREED = words("Please agree to the terms first.")
Typed = Annotated[str, Form(max_length=200)]


@router.get("/autopay/new")
async def step_bind(request: Request, payer: Visitor) -> Response:
    return render(request, "autopay_bind.html", billers=hub_of(request).billers(), error="")


@router.post("/autopay/new")
async def bind_verified(
    request: Request, payer: Visitor, biller: Typed = "", account: Typed = "", holder: Typed = ""
) -> Response:
    """Step 1: bind as ``POST /v1/bindings`` does, verified by the holder's name (auto-pay
    needs it, §13); an account already bound is verified by it the same way."""
    hub = hub_of(request)
    try:
        wanted = BindingRequest.model_validate({
            "payer": payer.payer, "biller": biller, "account": account,
            "verification": {"holder_name": holder},
        })  # fmt: skip
        found = active_biller(hub.biller(wanted.biller), wanted.biller)
        result = await bind(
            hub, payer.channel, found, payer.payer, wanted.account, wanted.verification
        )
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.code is ErrorCode.VERIFICATION_REQUIRED:
            # a utility that verifies by SMS code only: the verification step sends the code
            chosen = urlencode({"biller": biller, "account": account})
            return RedirectResponse(f"/h5/verify?{chosen}", status_code=303)
        status, why = refusal(request, exc)
        return render(request, "autopay_bind.html", status_code=status,
                      billers=hub.billers(), error=why)  # fmt: skip
    return RedirectResponse(f"/h5/autopay/choose?binding={result.binding.id}", status_code=303)


@router.get("/autopay/choose")
async def step_choose(
    request: Request, payer: Visitor, binding: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    """Step 2: the utility (its account) auto-pay is for."""
    hub = hub_of(request)
    async with hub.engine.connect() as conn:
        found = await bindings_service.list_for_payer(
            conn, payer.channel, payer.payer, hub.biller_code
        )
    kinds = {biller.code: biller.category for biller in hub.billers()}
    return render(request, "autopay_choose.html", bindings=found, chosen=binding, kinds=kinds)


async def _terms_page(
    request: Request, binding_id: str, payer: Payer, status: int = 200, error: str = "",
    cap: str = "",
) -> Response:  # fmt: skip
    binding = await payers_binding(request, payer, binding_id)
    hub = hub_of(request)
    biller = active_biller(hub.biller(binding.biller), binding.biller)
    async with hub.engine.connect() as conn:
        await require_verified(conn, payer.channel, biller, payer.payer, binding.account_no)
    typed = cap or typed_yuan(biller.mandate_default_cap)
    return render(request, "autopay_terms.html", status_code=status, binding=binding,
                  biller=biller, error=error, cap=typed)  # fmt: skip


@router.get("/autopay/terms")
async def chosen(binding: Annotated[str, Query(max_length=64)], payer: Visitor) -> Response:
    """Step 2's form (a plain GET form) to step 3 of the account chosen."""
    return RedirectResponse(f"/h5/autopay/accounts/{quote(binding, safe='')}/terms", 303)


async def _signed_already(request: Request, payer: Payer, binding: Binding) -> Mandate | None:
    """The payer's active mandate of the account at this channel, if any."""
    hub = hub_of(request)
    async with hub.engine.connect() as conn:
        signed = await mandates.for_payer(conn, payer.channel, payer.payer)
    account = (binding.biller, binding.account_no)
    return next(
        (m for m in signed if m.status is MandateStatus.ACTIVE
         and (hub.biller_code(m.biller_id), m.account_no) == account),
        None,
    )  # fmt: skip


@router.get("/autopay/accounts/{binding_id}/terms")
async def step_terms(request: Request, binding_id: str, payer: Visitor) -> Response:
    """Step 3: what auto-pay pays, and the cap per bill; an account signed already shows
    its auto-pay instead (the account page links here)."""
    binding = await payers_binding(request, payer, binding_id)
    signed = await _signed_already(request, payer, binding)
    if signed is not None:
        return RedirectResponse(f"/h5/autopay/mandates/{signed.id}", status_code=303)
    return await _terms_page(request, binding_id, payer)


def _agreed_cap(biller: Biller, typed: str) -> int:
    """The cap by the API's rules (``PATCH /v1/mandates``' schema, the biller's range)."""
    cap = MandateChange.model_validate({"cap": fen_of(typed)}).cap
    if cap is None:  # the schema admits null; a typed cap never is
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "cap is required")
    return mandates.check_cap(biller, cap)


@router.post("/autopay/accounts/{binding_id}/sign")
async def step_sign(
    request: Request, binding_id: str, payer: Visitor, cap: Typed = "", agree: Typed = ""
) -> Response:
    """Step 3 agreed: to the channel's cashier for step 4."""
    binding = await payers_binding(request, payer, binding_id)
    hub = hub_of(request)
    biller = active_biller(hub.biller(binding.biller), binding.biller)
    if agree != "yes":
        return await _terms_page(request, binding_id, payer, 400, NOT_AGREED, cap)
    try:
        agreed = _agreed_cap(biller, cap)
        mandates.require_debit_url(payer.channel)
    except (ValidationError, DomainError) as exc:
        status, why = refusal(request, exc)
        return await _terms_page(request, binding_id, payer, status, why, cap)
    signup = Signup(
        id=new_id("S"), channel_code=payer.channel.code, payer=payer.payer,
        binding_id=binding.id, kind="autopay", biller_code=biller.code,
        account_no=binding.account_no, cap=agreed, reminder=None, topup_amount=None,
        created_at=hub.clock.now(),
    )  # fmt: skip
    return await to_cashier(request, hub.engine, payer.channel, signup)


@router.get("/autopay/signups/{signup_id}")
async def signup_page(request: Request, signup_id: str, payer: Visitor) -> Response:
    """Step 5: what the channel signed for this request, or that it has not (yet)."""
    hub = hub_of(request)
    async with hub.engine.connect() as conn:
        signup = await store.payers_signup(conn, payer.channel.code, payer.payer, signup_id[:64])
        if signup is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no such sign-up")
        biller = active_biller(hub.biller(signup.biller_code), signup.biller_code)
        mandate = await mandates.by_signup(conn, payer.channel, biller, signup.id)
    return render(request, "autopay_signed.html", signup=signup, mandate=mandate)
