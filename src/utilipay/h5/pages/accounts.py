"""My accounts: the payer's bindings at this channel and what each owes; binding another
(the utility chosen, the account number checked by the utility's rule and by the utility,
as ``POST /v1/bindings`` does; a utility asking for a proof sends the payer on to
``pages/verify.py``), an account's bills with their late fees, unbinding."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from utilipay.accounts.connector import AccountBills, AccountsHost
from utilipay.billers.lookup import active_biller
from utilipay.billing.schemas import Bill
from utilipay.bindings import service as bindings_service
from utilipay.bindings.binding import bind
from utilipay.bindings.schemas import Binding, BindingRequest
from utilipay.clock import business_date
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5.problems import said
from utilipay.h5.templating import render
from utilipay.h5.visits import Payer, Visitor
from utilipay.http.json import describe
from utilipay.http.problems import status_of
from utilipay.prepaid import service as prepaid_service

router = APIRouter()


@dataclass(frozen=True, slots=True)
class Due:
    """A binding and what its account owes now (None: the utility did not answer)."""

    binding: Binding
    bills: AccountBills | None


def hub_of(request: Request) -> AccountsHost:
    hub: AccountsHost = request.app.state.hub
    return hub


async def payers_binding(request: Request, payer: Payer, binding_id: str) -> Binding:
    """The payer's own binding at this channel; anyone else's is not found."""
    hub = hub_of(request)
    async with hub.engine.connect() as conn:  # another channel's: FORBIDDEN, shown as 404
        row = await bindings_service.channel_binding(conn, payer.channel, binding_id)
    if row.payer != payer.payer:
        raise DomainError(ErrorCode.NOT_FOUND, "no such binding")
    return bindings_service.binding_of(row, hub.biller_code(row.biller_id))


async def bills_of(request: Request, binding: Binding) -> AccountBills:
    """The account's bills as ``GET /v1/bills`` gives them (each late fee due today)."""
    hub = hub_of(request)
    biller = active_biller(hub.biller(binding.biller), binding.biller)
    return await hub.connectors.for_biller(biller).query(hub.engine, biller, binding.account_no)


async def _due(request: Request, binding: Binding) -> Due:
    try:
        return Due(binding, await bills_of(request, binding))
    except DomainError:  # the utility is down: the page shows the others all the same
        return Due(binding, None)


async def _accounts_page(
    request: Request, payer: Payer, status: int = 200, error: str = "", entered: str = ""
) -> Response:
    hub = hub_of(request)
    async with hub.engine.connect() as conn:
        found = await bindings_service.list_for_payer(
            conn, payer.channel, payer.payer, hub.biller_code
        )
    # each utility asked at once: a remote one may take seconds, and they add up in turn
    dues = await asyncio.gather(*(_due(request, b) for b in found))
    return render(
        request, "accounts.html", status_code=status, dues=dues, billers=hub.billers(),
        error=error, entered=entered,
    )  # fmt: skip


@router.get("/")
async def my_accounts(request: Request, payer: Visitor) -> Response:
    return await _accounts_page(request, payer)


@router.post("/bindings")
async def add_binding(
    request: Request,
    payer: Visitor,
    biller: Annotated[str, Form(max_length=200)] = "",
    account: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Bind with the API's rules and codes; a refusal shows the form again with why."""
    hub = hub_of(request)
    try:
        wanted = BindingRequest.model_validate(
            {"payer": payer.payer, "biller": biller, "account": account}
        )
        found = active_biller(hub.biller(wanted.biller), wanted.biller)
        result = await bind(hub, payer.channel, found, payer.payer, wanted.account)
    except ValidationError as exc:
        malformed = DomainError(ErrorCode.MALFORMED_REQUEST, describe(exc.errors()))
        return await _accounts_page(request, payer, 400, said(request, malformed), account)
    except DomainError as exc:
        if exc.code is ErrorCode.VERIFICATION_REQUIRED:  # the utility's proof: the next step
            chosen = urlencode({"biller": wanted.biller, "account": wanted.account})
            return RedirectResponse(f"/h5/verify?{chosen}", status_code=303)
        return await _accounts_page(
            request, payer, status_of(exc.code), said(request, exc), account
        )
    return RedirectResponse(f"/h5/accounts/{result.binding.id}", status_code=303)


@router.get("/accounts/{binding_id}")
async def account_page(request: Request, binding_id: str, payer: Visitor) -> Response:
    binding = await payers_binding(request, payer, binding_id)
    due = await _due(request, binding)
    prepaid, smart = await _smart_payment(request, binding)
    return render(request, "account.html", due=due, prepaid=prepaid, smart=smart)


async def _smart_payment(request: Request, binding: Binding) -> tuple[bool, bool]:
    """(prepaid: the page links to the balance and daily use; smart: it offers the
    smart-payment sign-up, or its settings once signed, where signing up can succeed)."""
    hub = hub_of(request)
    biller = hub.biller(binding.biller)
    if biller is None:
        return False, False
    async with hub.engine.connect() as conn:
        if await prepaid_service.find(conn, biller, binding.account_no) is not None:
            return True, True
        today = business_date(hub.clock.now())
        return False, await prepaid_service.can_enroll(conn, biller, binding.account_no, today)


@router.get("/accounts/{binding_id}/bills/{bill_no}")
async def bill_page(request: Request, binding_id: str, bill_no: str, payer: Visitor) -> Response:
    binding = await payers_binding(request, payer, binding_id)
    bills = await bills_of(request, binding)
    bill: Bill | None = next((b for b in bills.bills if b.bill_no == bill_no), None)
    if bill is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such bill due")
    return render(request, "bill.html", binding=binding, bill=bill)


@router.get("/accounts/{binding_id}/unbind")
async def unbind_page(request: Request, binding_id: str, payer: Visitor) -> Response:
    binding = await payers_binding(request, payer, binding_id)
    return render(request, "unbind.html", binding=binding)


@router.post("/accounts/{binding_id}/unbind")
async def unbind(request: Request, binding_id: str, payer: Visitor) -> Response:
    binding = await payers_binding(request, payer, binding_id)
    hub = hub_of(request)
    async with hub.engine.begin() as conn:
        await bindings_service.unbind(conn, hub.clock, payer.channel, binding.id)
    return RedirectResponse("/h5/", status_code=303)
