from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from utilipay.accounts.connector import AccountsHost
from utilipay.billers.lookup import active_biller
from utilipay.billers.schemas import Biller
from utilipay.bindings import service
from utilipay.bindings.binding import bind
from utilipay.bindings.challenges import send_code
from utilipay.bindings.reminders import (
    ReminderChoice,
    RemindersRequest,
    binding_choice,
    change_binding_choice,
)
from utilipay.bindings.schemas import Binding, BindingRequest, ChallengeRequest
from utilipay.channels.requests import RequestContext, signed
from utilipay.clock import to_shanghai_iso
from utilipay.http.docs import (
    PROBLEMS,
    BindingOut,
    BindingsOut,
    BindingWithReminders,
    ChallengeOut,
    json_body,
)
from utilipay.http.inputs import text_path, text_query
from utilipay.http.json import json_response, parse_body

router = APIRouter(prefix="/v1", tags=["bindings"])


def _out(b: Binding) -> dict[str, object]:
    return {
        "id": b.id,
        "payer": b.payer,
        "biller": b.biller,
        "account": b.account_no,
        "holder": b.holder,
        "created_at": to_shanghai_iso(b.created_at),
        "verified": b.verified,
        "verified_at": to_shanghai_iso(b.verified_at) if b.verified_at else None,
    }


_AccountBody = TypeVar("_AccountBody", BindingRequest, ChallengeRequest)


async def _about_an_account(
    request: Request, model: type[_AccountBody]
) -> tuple[RequestContext, _AccountBody, Biller]:
    """A signed request's body naming a payer's account, its biller active and the account
    number fitting the biller's rule."""
    hub: AccountsHost = request.app.state.hub
    ctx = await signed(request)
    body = parse_body(model, ctx.body, request.headers.get("content-type"))
    biller = active_biller(hub.biller(body.biller), body.biller)
    biller.rule.check(biller.code, body.account)
    return ctx, body, biller


@router.post(
    "/bindings",
    response_model=BindingOut,
    status_code=201,
    responses={200: {"description": "the account was bound already"}, **PROBLEMS},
    openapi_extra=json_body(BindingRequest),
)
async def create_binding(request: Request) -> Response:
    """Bind an account, verified as its utility asks (§4, §13); binding it again with a
    passing verification makes the existing binding verified (200)."""
    hub: AccountsHost = request.app.state.hub
    ctx, body, biller = await _about_an_account(request, BindingRequest)
    await ctx.record_nonce()
    result = await bind(hub, ctx.channel, biller, body.payer, body.account, body.verification)
    return json_response(_out(result.binding), 201 if result.created else 200)


@router.post(
    "/bindings/challenges",
    response_model=ChallengeOut,
    status_code=201,
    responses=PROBLEMS,
    openapi_extra=json_body(ChallengeRequest),
)
async def create_challenge(request: Request) -> Response:
    """Send a 6-digit code to the account's phone on record, valid 5 minutes and 3 tries,
    to verify the payer's binding (§13); the answer shows the phone masked."""
    hub: AccountsHost = request.app.state.hub
    ctx, body, biller = await _about_an_account(request, ChallengeRequest)
    async with ctx.transaction() as conn:
        challenge = await send_code(conn, hub.clock, ctx.channel, biller, body.payer, body.account)
    return json_response(challenge.as_json(), 201)


@router.get("/bindings", response_model=BindingsOut, responses=PROBLEMS)
async def list_bindings(
    request: Request,
    ctx: Annotated[RequestContext, Depends(signed)],
    payer: Annotated[str, text_query(128)],
) -> Response:
    hub: AccountsHost = request.app.state.hub
    async with ctx.transaction() as conn:
        found = await service.list_for_payer(conn, ctx.channel, payer, hub.biller_code)
    return json_response({"bindings": [_out(b) for b in found]})


@router.delete("/bindings/{binding_id}", status_code=204, responses=PROBLEMS)
async def delete_binding(
    request: Request,
    binding_id: Annotated[str, text_path(64)],
    ctx: Annotated[RequestContext, Depends(signed)],
) -> Response:
    hub: AccountsHost = request.app.state.hub
    async with ctx.transaction() as conn:
        await service.unbind(conn, hub.clock, ctx.channel, binding_id)
    return Response(status_code=204)


def _with_reminders(binding: Binding, choice: ReminderChoice) -> dict[str, object]:
    return {**_out(binding), "reminders": choice.as_json()}


@router.get(
    "/bindings/{binding_id}",
    response_model=BindingWithReminders,
    responses=PROBLEMS,
    tags=["hub extension"],
)
async def show_binding(
    request: Request,
    binding_id: Annotated[str, text_path(64)],
    ctx: Annotated[RequestContext, Depends(signed)],
) -> Response:
    """A binding of this channel with its own reminder choice (hub extension, §4)."""
    hub: AccountsHost = request.app.state.hub
    async with ctx.transaction() as conn:
        binding, choice = await binding_choice(conn, ctx.channel, binding_id, hub.biller_code)
    return json_response(_with_reminders(binding, choice))


@router.patch(
    "/bindings/{binding_id}",
    response_model=BindingWithReminders,
    responses=PROBLEMS,
    openapi_extra=json_body(RemindersRequest),
    tags=["hub extension"],
)
async def change_binding_reminders(
    request: Request, binding_id: Annotated[str, text_path(64)]
) -> Response:
    """Change the payer's reminder choice at this binding: the fields given replace the
    binding's, a null one is inherited again (hub extension, §4)."""
    hub: AccountsHost = request.app.state.hub
    ctx = await signed(request)
    body = parse_body(RemindersRequest, ctx.body, request.headers.get("content-type"))
    async with ctx.transaction() as conn:
        binding, choice = await change_binding_choice(
            conn, hub.clock, ctx.channel, binding_id, body.reminders, hub.biller_code
        )
    return json_response(_with_reminders(binding, choice))
