from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from utilipay.accounts.connector import AccountsHost
from utilipay.billers.lookup import active_biller
from utilipay.bindings import service
from utilipay.bindings.binding import bind
from utilipay.bindings.reminders import (
    ReminderChoice,
    RemindersRequest,
    binding_choice,
    change_binding_choice,
)
from utilipay.bindings.schemas import Binding, BindingRequest
from utilipay.channels.requests import RequestContext, signed
from utilipay.clock import to_shanghai_iso
from utilipay.http.docs import PROBLEMS, BindingOut, BindingsOut, BindingWithReminders, json_body
from utilipay.http.inputs import text_path, text_query
from utilipay.http.json import json_response, parse_body

router = APIRouter(prefix="/v1", tags=["bindings"])


def _out(b: Binding) -> dict[str, str]:
    return {
        "id": b.id,
        "payer": b.payer,
        "biller": b.biller,
        "account": b.account_no,
        "holder": b.holder,
        "created_at": to_shanghai_iso(b.created_at),
    }


@router.post(
    "/bindings",
    response_model=BindingOut,
    status_code=201,
    responses={200: {"description": "the account was bound already"}, **PROBLEMS},
    openapi_extra=json_body(BindingRequest),
)
async def create_binding(request: Request) -> Response:
    hub: AccountsHost = request.app.state.hub
    ctx = await signed(request)
    body = parse_body(BindingRequest, ctx.body, request.headers.get("content-type"))
    biller = active_biller(hub.biller(body.biller), body.biller)
    biller.rule.check(biller.code, body.account)
    await ctx.record_nonce()
    result = await bind(hub, ctx.channel, biller, body.payer, body.account)
    return json_response(_out(result.binding), 201 if result.created else 200)


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
